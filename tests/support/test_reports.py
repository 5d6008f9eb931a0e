"""Support reports: SLA attainment, mean business times, backlog age; and the staff card."""

import base64
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from support import selectors, services
from support.models import Ticket
from tests.decoding import decode_png

pytestmark = pytest.mark.django_db
STOCKHOLM = ZoneInfo("Europe/Stockholm")
MONDAY_9 = datetime(2026, 11, 16, 9, 0, tzinfo=STOCKHOLM)


def test_sla_attainment_and_mean_times_per_priority(admin_user):
    on_time = services.ticket_create(title="on time", priority="P0", now=MONDAY_9)
    late = services.ticket_create(title="late", priority="P0", now=MONDAY_9)
    services.ticket_reply(
        ticket=on_time, body="Hi", actor=admin_user, now=MONDAY_9 + timedelta(minutes=10)
    )
    services.ticket_reply(
        ticket=late, body="Sorry", actor=admin_user, now=MONDAY_9 + timedelta(minutes=30)
    )
    Ticket.objects.update(created_at=MONDAY_9)
    window = {"start": MONDAY_9 - timedelta(days=1), "end": MONDAY_9 + timedelta(days=1)}

    attainment = {
        (row.priority, row.metric): row
        for row in selectors.sla_attainment(**window, now=MONDAY_9 + timedelta(hours=1))
    }
    means = {row.priority: row for row in selectors.mean_business_times(**window)}

    assert attainment[("P0", "response")].decided == 2
    assert attainment[("P0", "response")].percent == 50
    assert attainment[("P2", "response")].percent is None
    assert means["P0"].responses == 2
    assert means["P0"].mean_response_minutes == pytest.approx(20)


def test_backlog_by_age_counts_open_tickets_once():
    now = datetime(2026, 11, 20, 12, 0, tzinfo=STOCKHOLM)
    for age in (timedelta(hours=2), timedelta(days=2), timedelta(days=10)):
        ticket = services.ticket_create(title="t", priority="P3", now=now - age)
        Ticket.objects.filter(pk=ticket.pk).update(created_at=now - age)
    done = services.ticket_create(title="done", priority="P3", now=now)
    services.ticket_set_status(ticket=done, status="resolved")

    assert selectors.backlog_by_age(now=now) == [
        ("under 1 day", 1),
        ("1-3 days", 1),
        ("3-7 days", 0),
        ("over 7 days", 1),
    ]


def test_reports_page_in_the_admin(agent_client):
    services.ticket_create(title="t", priority="P1")

    response = agent_client.get("/admin/support/ticket/reports/?start=2026-01-01&end=2030-01-01")

    assert response.status_code == 200
    assert "SLA attainment" in response.content.decode()
    bad = agent_client.get("/admin/support/ticket/reports/?start=2026-02-01&end=2026-01-01")
    assert "must start before it ends" in bad.content.decode()


def test_staff_card_prints_a_code_that_decodes_to_the_link(manager_client, business):
    link = services.staff_link_issue(business=business)

    page = manager_client.get(f"/admin/support/stafflink/{link.pk}/card/").content.decode()

    assert business.name in page
    assert link.public_url in page
    encoded = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    assert decode_png(base64.b64decode(encoded)) == [link.public_url]
