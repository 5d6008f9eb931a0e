"""A Swedish-speaking manager reads the dashboard, the success report and the report
e-mails in Swedish: Swedish words, dates, decimal commas and kronor."""

import csv
import io
import re
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from core import roles
from core.services import staff_language_set
from pilots import maintenance, services
from pilots.models import Feedback
from tests.conftest import SPECIFIC_COMMENT, _logged_in_client, outbox_delivered

pytestmark = pytest.mark.django_db

MONTHS = "januari februari mars april maj juni juli augusti september oktober november december"
SWEDISH_MONTHS = MONTHS.split()
SWEDISH_SHORT_MONTHS = [month[:3] for month in SWEDISH_MONTHS]


def swedish_date(day) -> str:
    return f"{day.day} {SWEDISH_MONTHS[day.month - 1]} {day.year}"


@pytest.fixture
def busy_pilot(active_pilot, make_business):
    cafe = make_business("Café Nord")
    services.enrollment_create(pilot=active_pilot, business=cafe)
    (code,) = services.qr_codes_generate(business=cafe, placements=["T1"])
    for days_ago, score in ((0, 80), (1, 45), (3, 70)):
        Feedback.objects.create(
            business=cafe,
            pilot=active_pilot,
            enrollment=cafe.enrollments.get(),
            qr_code=code,
            rating=5 if score > 50 else 2,
            language="sv",
            quality_score=score,
            comment=f"{SPECIFIC_COMMENT} ({score})",
            client_hash="c" * 64,
            submitted_at=timezone.now() - timedelta(days=days_ago),
        )
    return active_pilot


@pytest.fixture
def swedish_manager(staff_member):
    manager = staff_member(roles.PILOT_MANAGERS, username="maria")
    staff_language_set(user=manager, language="sv")
    return manager


def test_dashboard_swedish_manager_reads_swedish_words_dates_and_decimals(
    busy_pilot, swedish_manager
):
    today = timezone.localdate()

    page = _logged_in_client(swedish_manager).get("/admin/").content.decode()

    assert "Piloter i dag, 7 och 30 dagar" in page
    assert "deltagandegrad" in page and "resultatrapport" in page
    assert "I dag" in page and "30 dagar" in page
    assert f"{today.day} {SWEDISH_SHORT_MONTHS[today.month - 1]}<" in page
    assert "staplar: feedback · linje: kvalitet" in page
    assert re.search(r"✓ \d+,\d|✗ \d+,\d|! \d+,\d", page)
    assert "Pilots today" not in page and "success report" not in page


def test_report_swedish_manager_reads_the_report_page_in_swedish(busy_pilot, swedish_manager):
    client = _logged_in_client(swedish_manager)

    page = client.get(f"/admin/pilots/pilot/{busy_pilot.pk}/report/").content.decode()

    assert '<html lang="sv">' in page
    start, end = busy_pilot.starts_on, timezone.localdate()
    assert f"Resultatrapport för {swedish_date(start)} – {swedish_date(end)}" in page
    assert "belöning 10\u00a0kr per kvalificerande feedback" in page
    assert "Alla verksamheter" in page and "Deltagandegrad" in page
    assert "Genomsnittlig kvalitet" in page and "65,0" in page  # (80 + 45 + 70) / 3
    assert "Success report" not in page and "Average quality" not in page


def test_report_swedish_manager_gets_the_pdf_in_swedish(busy_pilot, swedish_manager, tmp_path):
    client = _logged_in_client(swedish_manager)

    response = client.get(f"/admin/pilots/pilot/{busy_pilot.pk}/report.pdf")

    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    text = " ".join(text.split())
    assert f"Resultatrapport för {swedish_date(busy_pilot.starts_on)}" in text
    assert "10 kr" in text.replace("\u00a0", " ")
    assert "Deltagandegrad" in text and "Slutförandegrad" in text and "65,0" in text
    assert "Success report" not in text


def test_report_swedish_manager_gets_csv_headers_and_truth_values_in_swedish(
    busy_pilot, swedish_manager
):
    client = _logged_in_client(swedish_manager)

    response = client.get(f"/admin/pilots/pilot/{busy_pilot.pk}/report.csv")

    content = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content), delimiter=";"))
    assert list(rows[0]) == ["verksamhet", "mål", "uppnått", "målvärde", "godkänt"]
    assert {row["verksamhet"] for row in rows} == {"Alla verksamheter", "Café Nord"}
    assert {row["mål"] for row in rows} >= {"Deltagandegrad", "Genomsnittlig kvalitet"}
    assert {row["godkänt"] for row in rows} <= {"ja", "nej", ""}


def test_report_email_swedish_to_a_swedish_manager_and_english_to_an_english_one(
    busy_pilot, swedish_manager, staff_member
):
    swedish_manager.email = "maria@pilotops.example"
    swedish_manager.save()
    english_manager = staff_member(roles.PILOT_MANAGERS, username="anna")
    english_manager.email = "anna@pilotops.example"
    english_manager.save()
    today = timezone.localdate()

    maintenance.report_send(start=today - timedelta(days=6), end=today, title="weekly report")

    by_recipient = {message.to[0]: message for message in outbox_delivered()}
    swedish, english = by_recipient["maria@pilotops.example"], by_recipient["anna@pilotops.example"]
    period = f"{swedish_date(today - timedelta(days=6))} – {swedish_date(today)}"
    assert swedish.subject == f"Pilot Ops veckorapport: {period}"
    assert "Ny feedback:" in swedish.body and "Genomsnittlig kvalitet:" in swedish.body
    assert "65,0" in swedish.body and "Öppna ärenden:" in swedish.body
    assert "New feedback:" not in swedish.body
    assert english.subject.startswith("Pilot Ops weekly report: ")
    assert "New feedback:" in english.body and "65.0" in english.body
    assert "Ny feedback:" not in english.body


def test_success_report_mail_swedish_manager_gets_the_pdf_in_swedish(
    make_pilot, swedish_manager, staff_member, tmp_path
):
    swedish_manager.email = "maria@pilotops.example"
    swedish_manager.save()
    english_manager = staff_member(roles.PILOT_MANAGERS, username="anna")
    english_manager.email = "anna@pilotops.example"
    english_manager.save()
    today = timezone.localdate()
    ended = make_pilot(
        "Spring pilot", starts_on=today - timedelta(days=90), ends_on=today - timedelta(days=31)
    )

    maintenance.success_reports_send(today=today)

    by_recipient = {message.to[0]: message for message in outbox_delivered()}
    swedish, english = by_recipient["maria@pilotops.example"], by_recipient["anna@pilotops.example"]
    assert swedish.subject == "Pilot Ops: resultatrapport för Spring pilot"
    assert f"({swedish_date(ended.starts_on)} – {swedish_date(ended.ends_on)})" in swedish.body
    assert english.subject == "Pilot Ops: success report of Spring pilot"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(swedish.attachments[0][1])
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Resultatrapport för" in " ".join(text.split())
    assert "belöning 10 kr" in " ".join(text.replace("\u00a0", " ").split())
