"""Triage in the admin: agents work the queue, viewers only read it; the list stays flat."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from support import services
from support.models import Ticket

pytestmark = pytest.mark.django_db


def make_tickets(count: int) -> None:
    for n in range(count):
        services.ticket_create(title=f"Ticket {n}", priority=["P0", "P1", "P2", "P3"][n % 4])


def test_triage_agents_assign_to_me_and_set_status(agent_client):
    make_tickets(2)
    ticket = Ticket.objects.first()

    agent_client.post(
        "/admin/support/ticket/", {"action": "assign_to_me", "_selected_action": [ticket.pk]}
    )
    agent_client.post(
        "/admin/support/ticket/", {"action": "priority_p0", "_selected_action": [ticket.pk]}
    )

    ticket.refresh_from_db()
    assert ticket.assignee.username == "support-agents"
    assert ticket.priority == "P0"
    assert ticket.events.filter(kind="assigned").exists()


def test_triage_reply_and_note_from_the_ticket_page(agent_client):
    make_tickets(1)
    ticket = Ticket.objects.get()

    agent_client.post(f"/admin/support/ticket/{ticket.pk}/reply/", {"body": "On our way."})
    agent_client.post(f"/admin/support/ticket/{ticket.pk}/note/", {"body": "Printer issue."})

    ticket.refresh_from_db()
    assert ticket.first_response_at is not None
    assert list(ticket.events.values_list("kind", "public").order_by("id"))[-2:] == [
        ("reply", True),
        ("note", False),
    ]


def test_triage_viewers_cannot_change_tickets(viewer_client):
    make_tickets(1)
    ticket = Ticket.objects.get()

    assert viewer_client.get("/admin/support/ticket/").status_code == 200
    viewer_client.post(
        "/admin/support/ticket/", {"action": "status_resolved", "_selected_action": [ticket.pk]}
    )
    reply = viewer_client.post(f"/admin/support/ticket/{ticket.pk}/reply/", {"body": "x"})

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.NEW
    assert reply.status_code == 403


def test_triage_queue_orders_breached_first_then_by_due_time(agent_client):
    from django.utils import timezone

    # Made in the opposite order of urgency, so creation order cannot pass for it.
    now = timezone.now()
    late = services.ticket_create(title="late", priority="P2", now=now - timedelta(days=30))
    services.ticket_create(title="urgent", priority="P0")
    calm = services.ticket_create(title="calm", priority="P3")
    services.sla_sweep(now=now)  # marks the late one's breaches, as beat does
    services.ticket_set_status(ticket=calm, status="resolved")

    response = agent_client.get("/admin/support/ticket/")

    titles = [ticket.title for ticket in response.context["cl"].result_list]
    assert titles == ["late", "urgent", "calm"]
    assert Ticket.objects.get(pk=late.pk).is_breached


def test_triage_list_queries_do_not_grow_with_tickets(agent_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert agent_client.get("/admin/support/ticket/").status_code == 200
        return len(captured)

    make_tickets(5)
    few = queries()
    make_tickets(60)

    assert queries() == few
