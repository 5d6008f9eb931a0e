"""The dashboard reads without guessing: no data is "—", targets are written, colours have signs."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from pilots import reporting
from pilots.models import Feedback
from tests.conftest import SPECIFIC_COMMENT

pytestmark = pytest.mark.django_db


@pytest.fixture
def yesterday_only(open_code, enrolled):
    """Café Aurora had feedback yesterday and nothing yet today."""
    Feedback.objects.create(
        business=open_code.business,
        pilot=enrolled.pilot,
        enrollment=enrolled,
        qr_code=open_code,
        rating=5,
        language="sv",
        quality_score=90,
        comment=SPECIFIC_COMMENT,
        client_hash="c" * 64,
        submitted_at=timezone.now() - timedelta(days=1),
    )
    return enrolled


def test_a_day_with_nothing_yet_is_no_data_not_zero_behind_target(yesterday_only):
    (board,) = reporting.dashboard()
    (site,) = board.sites

    today = {figure.name: figure for figure in site.periods["Today"]}
    week = {figure.name: figure for figure in site.periods["7 days"]}
    assert all(figure.value is None and figure.colour == "grey" for figure in today.values())
    assert week["Average quality"].value == 90 and week["Average quality"].mark == "✓"


def test_dashboard_writes_targets_next_to_figures_and_signs_beside_colours(
    manager_client, yesterday_only
):
    page = manager_client.get("/admin/").content.decode()

    for target in ("target 10 %", "target 70 %", "target 65", "target 98 %"):
        assert target in page
    chips = re.findall(r'<span class="po-chip po-(\w+)"[^>]*>([^<]*)</span>', page)
    figures = [(colour, text.strip()) for colour, text in chips if "%" in text or "." in text]
    assert figures, page
    for colour, text in figures:  # every coloured figure also says what the colour means
        sign = {"green": "✓", "amber": "!", "red": "✗"}.get(colour)
        assert sign is None or text.startswith(sign), (colour, text)
    today_row = page.split("<td>Today</td>", 1)[1].split("</tr>", 1)[0]
    today_chips = re.findall(r'<span class="po-chip po-(\w+)"[^>]*>([^<]*)</span>', today_row)
    assert today_chips == [("grey", "—")] * 4


def test_charts_have_labelled_axes(yesterday_only):
    today = timezone.localdate()
    chart = reporting.svg_chart({today - timedelta(days=1): (7, 90.0)}, today)

    labels = re.findall(r"<text[^>]*>([^<]+)</text>", chart)
    assert "7" in labels and "100" in labels and "0" in labels
    first = today - timedelta(days=29)
    assert f"{today.day} {today:%b}" in labels and f"{first.day} {first:%b}" in labels
    assert "bars: feedback · line: quality" in labels
