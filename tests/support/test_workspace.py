"""The agent workspace on the ticket page: panel, SLA clocks, buttons, canned replies."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from core import roles
from support import services
from support.models import CannedReply, Escalation, Ticket

pytestmark = pytest.mark.django_db
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM)


@pytest.fixture
def ticket(business):
    return services.ticket_create(
        title="The QR code at table 4 does not scan",
        priority="P2",
        category=Ticket.Category.QR_CODE,
        business=business,
        reporter_name="Karin Larsson",
        reporter_contact="+46701234599",
    )


def page_of(client, ticket) -> str:
    response = client.get(f"/admin/support/ticket/{ticket.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def test_agent_changes_status_priority_and_assignee_in_place(agent_client, ticket):
    agent = User.objects.get(username="support-agents")

    response = agent_client.post(
        f"/admin/support/ticket/{ticket.pk}/triage/",
        {"status": "in_progress", "priority": "P1", "assignee": agent.pk},
    )

    ticket.refresh_from_db()
    assert response.status_code == 302
    assert (ticket.status, ticket.priority, ticket.assignee) == ("in_progress", "P1", agent)
    kinds = set(ticket.events.values_list("kind", flat=True))
    assert {"assigned", "priority", "status"} <= kinds
    assert ticket.escalations.exists()  # raised: its policy pages


def test_the_panel_reopens_before_it_changes_priority_and_refuses_it_on_a_resolved_ticket(
    agent_client, ticket
):
    services.ticket_set_status(ticket=ticket, status=Ticket.Status.RESOLVED)
    url = f"/admin/support/ticket/{ticket.pk}/triage/"

    refused = agent_client.post(url, {"status": "resolved", "priority": "P3", "assignee": ""})
    ticket.refresh_from_db()
    assert ticket.priority == "P2"
    assert any("reopen it before changing its priority" in m for m in messages_of(refused))

    agent_client.post(url, {"status": "in_progress", "priority": "P3", "assignee": ""})
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("in_progress", "P3")


def test_bad_panel_input_is_a_readable_message_not_an_error(agent_client, ticket):
    response = agent_client.post(
        f"/admin/support/ticket/{ticket.pk}/triage/",
        {"status": "gone", "priority": "P9", "assignee": "x"},
    )

    assert response.status_code == 302
    assert any("priority" in m for m in messages_of(response))
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("new", "P2")


def test_assign_to_me_resolve_and_escalate_buttons(agent_client, ticket):
    base = f"/admin/support/ticket/{ticket.pk}"

    agent_client.post(f"{base}/assign-to-me/")
    agent_client.post(f"{base}/escalate/")
    escalated = Ticket.objects.get(pk=ticket.pk)
    agent_client.post(f"{base}/resolve/")
    refused = agent_client.post(f"{base}/escalate/")

    ticket.refresh_from_db()
    assert escalated.assignee.username == "support-agents"
    assert escalated.escalation_level == 1
    assert Escalation.objects.filter(ticket=ticket, trigger__startswith="escalated:").exists()
    assert ticket.status == Ticket.Status.RESOLVED
    assert any("reopen it before escalating" in m for m in messages_of(refused))


def test_viewers_read_the_workspace_but_change_nothing(viewer_client, ticket):
    page = page_of(viewer_client, ticket)

    assert 'id="composer"' not in page and 'id="triage"' not in page
    assert 'id="sla-clocks"' in page
    for action in ("triage", "assign-to-me", "resolve", "escalate"):
        response = viewer_client.post(f"/admin/support/ticket/{ticket.pk}/{action}/")
        assert response.status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).status == "new"


def test_panel_changes_need_the_csrf_token(staff_member, ticket):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_member(roles.SUPPORT_AGENTS))

    response = client.post(f"/admin/support/ticket/{ticket.pk}/resolve/")

    assert response.status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).status == "new"


def test_sla_panel_shows_both_targets_with_local_due_times_and_time_left(agent_client, business):
    with time_machine.travel(at("2026-11-16 09:00"), tick=False):  # a Monday
        ticket = services.ticket_create(title="Till is slow", priority="P2", business=business)
        page = page_of(agent_client, ticket)
    services.ticket_set_status(ticket=ticket, status="waiting", now=at("2026-11-16 10:00"))
    with time_machine.travel(at("2026-11-16 10:30"), tick=False):
        waiting = page_of(agent_client, ticket)

    clocks = page.split('id="sla-clocks"', 1)[1].split("</div>\n    </div>", 1)[0]
    assert "First response: 10 h in Business hours (Stockholm)" in clocks
    assert "Resolution: 50 h in Business hours (Stockholm)" in clocks
    assert "due Tue 17 Nov 2026 09:00" in clocks  # 10 business hours, in Stockholm time
    assert "due Mon 23 Nov 2026 09:00" in clocks
    assert "10 h business time left" in clocks and "50 h business time left" in clocks
    assert "paused: waiting on the reporter" in waiting
    assert "8 h 30 min business time left" in waiting  # the response clock still runs


def test_canned_replies_fill_placeholders_and_keep_the_reporter_private(
    agent_client, admin_client, ticket
):
    CannedReply.objects.create(
        title="QR only", category="qr_code", body="Hej {reporter}, {business} · {reference} {x}"
    )
    CannedReply.objects.create(title="Rewards only", category="reward", body="Reward")

    agent_page = page_of(agent_client, ticket)
    admin_page = page_of(admin_client, ticket)

    assert f'data-text="Hej, Café Aurora · {ticket.reference} {{x}}"' in agent_page
    assert not re.search(r'data-text="[^"]*Karin', agent_page)
    assert f'data-text="Hej Karin Larsson, Café Aurora · {ticket.reference} {{x}}"' in admin_page
    assert "Rewards only" not in agent_page
    assert "Thanks, we are on it" in agent_page  # the seeded reply for every category


def test_the_cafes_other_tickets_are_beside_the_conversation(agent_client, ticket, business):
    other = services.ticket_create(title="Payments page slow", business=business)
    done = services.ticket_create(title="Old printer question", business=business)
    services.ticket_set_status(ticket=done, status="closed")
    services.ticket_create(title="Someone else's problem")

    page = page_of(agent_client, ticket)

    others = page.split("Other tickets of Café Aurora", 1)[1].split("</ul>", 1)[0]
    assert other.reference in others and done.reference in others
    assert "Someone else" not in others and ticket.reference not in others


def test_replies_and_notes_read_differently_with_the_composer_first(agent_client, ticket):
    services.ticket_reply(ticket=ticket, body="We are on it.", actor=None)
    services.ticket_add_note(ticket=ticket, body="Printer at fault.", actor=None)

    page = page_of(agent_client, ticket)

    assert (
        page.index('id="composer"') < page.index("We are on it.") < page.index('id="content-main"')
    )
    assert re.search(r'po-event-note">.*Internal note.*Printer at fault', page, re.S)
    assert re.search(r'po-event-reply">.*Public reply.*We are on it', page, re.S)


def test_triage_list_shows_target_due_time_and_time_left(agent_client, business):
    with time_machine.travel(at("2026-11-16 09:00"), tick=False):
        ticket = services.ticket_create(title="Till is slow", priority="P2", business=business)
        page = agent_client.get("/admin/support/ticket/").content.decode()

    assert "<strong>First response</strong><br>due Tue 17 Nov 09:00" in page  # local, 10 h on
    assert "Till is slow<br>" in page and f"{ticket.reference} · Café Aurora" in page
    assert "10 h 00 min left" in page
