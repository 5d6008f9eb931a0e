"""Exports open as columns in a Swedish Excel: ``;``, decimal commas, UTF-8 with a BOM."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from pilots.models import Feedback
from pilots.selectors import report_comments
from support.services import ticket_create, ticket_set_status
from tests.conftest import SPECIFIC_COMMENT, good_feedback_submit

pytestmark = pytest.mark.django_db
BOM = b"\xef\xbb\xbf"


def rows_of(response) -> list[dict]:
    raw = b"".join(response.streaming_content)
    assert raw.startswith(BOM)  # Excel reads å, ä, ö as UTF-8 only after the BOM
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def test_payment_export_is_semicolon_separated_with_kronor_in_decimal_commas(
    manager_client, open_code
):
    good_feedback_submit(open_code, contact_email="guest@example.se", consent=True)

    response = manager_client.get("/admin/pilots/payment/export.csv")

    raw = b"".join(response.streaming_content)
    header = raw[len(BOM) :].split(b"\r\n")[0].decode()
    assert header.split(";")[:5] == ["payment", "created", "business", "pilot", "amount"]
    (row,) = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert row["amount"] == "10,00"  # kronor, not 1000 öre
    assert row["currency"] == "SEK"
    assert row["business"] == "Café Aurora"  # UTF-8 survives
    assert "guest@example.se" not in raw.decode("utf-8-sig")


def test_ticket_export_writes_labels_local_times_and_yes_no(manager_client, open_code):
    ticket = ticket_create(title="Kortläsaren; trasig", priority="P2")
    ticket_set_status(ticket=ticket, status="in_progress")
    feedback = good_feedback_submit(open_code, contact_email="guest@example.se", consent=True)

    (ticket_row,) = rows_of(manager_client.get("/admin/support/ticket/export.csv"))
    (feedback_row,) = rows_of(manager_client.get("/admin/pilots/feedback/export.csv"))

    assert ticket_row["title"] == "Kortläsaren; trasig"  # the separator inside is quoted
    assert ticket_row["status"] == "In progress"
    assert ticket_row["priority"] == "P2 medium"
    created = timezone.localtime(ticket.created_at).strftime("%Y-%m-%d %H:%M:%S")
    assert ticket_row["created"] == created  # local time, as Excel reads a date
    assert feedback_row["reward eligible"] == ("yes" if feedback.reward_eligible else "no")
    assert feedback_row["reward eligible"] == "yes"


def test_report_csv_rounds_as_shown_and_page_reads_kronor_with_dates_filled_in(
    manager_client, open_code, enrolled
):
    for n, score in enumerate((80, 67)):
        Feedback.objects.create(
            business=open_code.business,
            pilot=enrolled.pilot,
            enrollment=enrolled,
            qr_code=open_code,
            rating=5,
            language="sv",
            quality_score=score,
            comment=f"{SPECIFIC_COMMENT} ({n})",
            client_hash=f"{n}" * 64,
            submitted_at=timezone.now(),
        )
    pilot = enrolled.pilot

    page = manager_client.get(f"/admin/pilots/pilot/{pilot.pk}/report/").content.decode()
    rows = rows_of(manager_client.get(f"/admin/pilots/pilot/{pilot.pk}/report.csv"))

    assert "reward SEK\u00a010 per qualifying feedback" in page
    assert f'value="{pilot.starts_on.isoformat()}"' in page  # the period's dates are filled in
    quality = next(
        r for r in rows if r["business"] == "All businesses" and "quality" in r["target"]
    )
    assert quality["achieved"] == "73,5"  # (80 + 67) / 2
    assert quality["target value"] == "65"
    assert quality["passed"] == "yes"
    payments = next(r for r in rows if r["target"] == "Payment success")
    assert payments["achieved"] == "" and payments["passed"] == ""  # no data, not a failure


def test_report_never_lists_one_comment_as_both_best_and_lowest(open_code, enrolled):
    for n, rating in enumerate((5, 2)):
        Feedback.objects.create(
            business=open_code.business,
            pilot=enrolled.pilot,
            enrollment=enrolled,
            qr_code=open_code,
            rating=rating,
            language="sv",
            quality_score=70,
            comment=f"{SPECIFIC_COMMENT} ({n})",
            client_hash=f"{n}" * 64,
            submitted_at=timezone.now() - timedelta(hours=n),
        )

    per_site, overall = report_comments([enrolled.pk], period=None)

    for chosen in (per_site[enrolled.pk], overall):
        assert [item.rating for item in chosen.best] == [5]
        assert [item.rating for item in chosen.worst] == [2]
