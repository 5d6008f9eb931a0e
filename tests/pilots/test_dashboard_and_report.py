"""The dashboard and the pilot success report show the KPI selectors' figures, in colour."""

import csv
import io
import re
import shutil
import subprocess
import sys
from datetime import timedelta

import pypdfium2
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pilots import reporting, services
from pilots.models import Feedback
from pilots.selectors import enrollment_kpis, pilot_kpis
from tests.conftest import PROJECT_DIR, SPECIFIC_COMMENT
from tests.decoding import pdf_pages

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_pilot(active_pilot, make_business):
    """Two enrolled cafés with a few days of feedback."""
    cafes = [make_business("Café Nord"), make_business("Café Syd", expected_daily_customers=50)]
    for cafe in cafes:
        services.enrollment_create(pilot=active_pilot, business=cafe)
        (code,) = services.qr_codes_generate(business=cafe, placements=["T1"])
        for days_ago, score in ((0, 80), (1, 40), (3, 70), (10, 20)):
            Feedback.objects.create(
                business=cafe,
                pilot=active_pilot,
                enrollment=cafe.enrollments.get(),
                qr_code=code,
                rating=5 if score > 50 else 2,
                language="sv",
                quality_score=score,
                comment=f"{SPECIFIC_COMMENT} ({score})",
                contact_email="hidden@example.se",
                consent_at=timezone.now(),
                client_hash="c" * 64,
                submitted_at=timezone.now() - timedelta(days=days_ago),
            )
    return active_pilot


def test_dashboard_figures_equal_the_kpi_selectors(busy_pilot):
    today = timezone.localdate()

    (board,) = reporting.dashboard(today=today)

    enrollments = list(busy_pilot.enrollments.select_related("business", "pilot"))
    for label, back in reporting.PERIODS:
        expected = enrollment_kpis(
            enrollments, start=today - timedelta(days=back), end=today, today=today
        )
        for site in board.sites:
            figures = {figure.name: figure.value for figure in site.periods[label]}
            kpis = expected[site.enrollment.pk]
            assert figures["Participation"] == pytest.approx(kpis.participation)
            assert figures["Average quality"] == pytest.approx(kpis.average_quality)
            assert figures["Completion"] == kpis.completion


def test_dashboard_colours_follow_the_targets():
    from decimal import Decimal

    assert reporting.judge(70, Decimal(65)) == "green"
    assert reporting.judge(60, Decimal(65)) == "amber"
    assert reporting.judge(40, Decimal(65)) == "red"
    assert reporting.judge(None, Decimal(65)) == "grey"
    assert reporting.judge_trial(100, 100) == "red"


@pytest.mark.parametrize("page", ["/admin/", "/admin/pilots/pilot/{pilot}/report/"])
def test_dashboard_and_report_query_count_is_the_same_for_1_and_50_businesses(
    manager_client, active_pilot, make_business, page
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert manager_client.get(page.format(pilot=active_pilot.pk)).status_code == 200
        return len(captured)

    services.enrollment_create(pilot=active_pilot, business=make_business("Café 0"))
    queries()  # the first load keeps the closed days it counted as snapshots
    one = queries()
    for n in range(1, 50):
        services.enrollment_create(pilot=active_pilot, business=make_business(f"Café {n}"))
    queries()

    assert queries() == one


def test_viewers_read_the_dashboard_and_report_without_contact_data(viewer_client, busy_pilot):
    index = viewer_client.get("/admin/").content.decode()
    report = viewer_client.get(f"/admin/pilots/pilot/{busy_pilot.pk}/report/").content.decode()

    assert "Café Nord" in index and "Café Nord" in report
    assert "hidden@example.se" not in index + report
    assert "<svg" in index


def test_report_figures_equal_the_selectors_and_the_csv_parses(manager_client, busy_pilot):
    start, end = busy_pilot.starts_on, timezone.localdate()

    response = manager_client.get(
        f"/admin/pilots/pilot/{busy_pilot.pk}/report.csv?start={start}&end={end}"
    )
    rows = list(
        csv.DictReader(
            io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")), delimiter=";"
        )
    )

    total = pilot_kpis(busy_pilot, start=start, end=end, today=end)
    overall = {row["target"]: row for row in rows if row["business"] == "All businesses"}
    # Rounded as the report shows them, with a decimal comma.
    assert overall["Average quality"]["achieved"] == f"{total.average_quality:.1f}".replace(
        ".", ","
    )
    assert overall["Participation"]["achieved"] == f"{total.participation:.1f}".replace(".", ",")
    assert {row["business"] for row in rows} == {"All businesses", "Café Nord", "Café Syd"}


def test_report_pdf_renders_with_the_pilot_and_every_business(manager_client, busy_pilot, tmp_path):
    response = manager_client.get(f"/admin/pilots/pilot/{busy_pilot.pk}/report.pdf")

    assert response.status_code == 200
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.content)
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True
        )
        assert list(tmp_path.glob("page*.png"))
    assert pdf_pages(response.content)  # rendered by pdfium as well
    text = "".join(
        page.get_textpage().get_text_range() for page in pypdfium2.PdfDocument(response.content)
    )
    for name in (busy_pilot.name, "Café Nord", "Café Syd"):
        assert name in text
    assert "hidden@example.se" not in text


def test_report_html_shows_best_and_worst_comments(manager_client, busy_pilot):
    page = manager_client.get(f"/admin/pilots/pilot/{busy_pilot.pk}/report/").content.decode()

    assert "Best rated" in page and "Lowest rated" in page
    assert re.search(r"5★ “The cardamom bun", page)


def test_streamed_export_of_200000_rows_stays_under_150_mb():
    result = subprocess.run(
        [sys.executable, "bench/export_memory.py", "--rows", "200000"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    peak = float(
        re.search(r"peak memory of the exporting process: (\d+) MB", result.stdout).group(1)
    )
    assert "200000 CSV rows" in result.stdout
    assert peak < 150, result.stdout


def test_payments_and_tickets_export_follow_the_filter(manager_client, open_code):
    from support.services import ticket_create

    ticket_create(title="One", priority="P0", reporter_contact="0701234567")
    ticket_create(title="Two", priority="P3")

    tickets = manager_client.get("/admin/support/ticket/export.csv?priority__exact=P0")
    payments = manager_client.get("/admin/pilots/payment/export.csv")

    body = b"".join(tickets.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body), delimiter=";"))
    assert [row["title"] for row in rows] == ["One"]
    assert "0701234567" not in body
    assert payments.status_code == 200


def test_dashboard_is_on_the_site_index_only(viewer_client, busy_pilot):
    """Django's app index pages extend the site index's template; they do not repeat it."""
    index = viewer_client.get("/admin/").content.decode()
    app_index = viewer_client.get("/admin/pilots/").content.decode()

    assert 'id="pilot-dashboard"' in index
    assert 'id="pilot-dashboard"' not in app_index
    assert "Café Nord" not in app_index
