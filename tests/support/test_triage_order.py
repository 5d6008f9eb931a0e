"""The triage queue reads a stored urgency key through an index; the SLA services keep it."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import roles
from support import services
from support.models import Ticket, Urgency
from tests.query_plans import query_plan, sorts_rows

pytestmark = pytest.mark.django_db


def urgency_rule(ticket: Ticket) -> tuple:
    """The triage order as written in the design: open first, breached first, nearest due."""
    due = (
        min(ticket.response_due_at, ticket.resolution_due_at)
        if ticket.first_response_at is None
        else ticket.resolution_due_at
    )
    return (not ticket.is_open, not ticket.is_breached, due, ticket.pk)


@pytest.fixture
def queue(staff_member):
    """Tickets in every state the SLA services produce, made out of urgency order."""
    now = timezone.now()
    agent = staff_member(roles.SUPPORT_AGENTS, "agent")
    made = {}
    for n, (priority, days_ago) in enumerate(
        [("P3", 0), ("P2", 40), ("P1", 0), ("P0", 0), ("P2", 0), ("P1", 3), ("P3", 60)]
    ):
        made[n] = services.ticket_create(
            title=f"T{n}", priority=priority, now=now - timedelta(days=days_ago)
        )
    services.sla_sweep(now=now)  # the old ones breach
    services.ticket_reply(ticket=made[2], body="On it.", actor=agent)
    services.ticket_assign(ticket=made[4], assignee=agent)
    services.ticket_assign(ticket=made[1], assignee=agent)
    services.ticket_set_status(ticket=made[4], status=Ticket.Status.WAITING)
    services.ticket_set_status(ticket=made[5], status=Ticket.Status.RESOLVED)
    services.ticket_set_status(ticket=made[0], status=Ticket.Status.RESOLVED)
    services.ticket_set_status(ticket=made[0], status=Ticket.Status.IN_PROGRESS)  # reopened
    return agent


def titles(client, query: str = "") -> list[str]:
    response = client.get(f"/admin/support/ticket/{query}")
    assert response.status_code == 200
    return [ticket.title for ticket in response.context["cl"].result_list]


def test_urgency_key_follows_every_sla_change(staff_member):
    now = timezone.now()
    agent = staff_member(roles.SUPPORT_AGENTS, "agent")
    ticket = services.ticket_create(title="Card reader down", priority="P1", now=now)
    assert (ticket.urgency_rank, ticket.urgency_due_at) == (Urgency.OPEN, ticket.response_due_at)

    services.ticket_reply(ticket=ticket, body="Looking.", actor=agent)
    ticket.refresh_from_db()
    assert ticket.urgency_due_at == ticket.resolution_due_at

    services.sla_sweep(now=now + timedelta(days=2))
    ticket.refresh_from_db()
    assert ticket.urgency_rank == Urgency.OPEN_BREACHED

    ticket = services.ticket_set_status(ticket=ticket, status=Ticket.Status.RESOLVED)
    assert ticket.urgency_rank == Urgency.DONE_BREACHED
    calm = services.ticket_create(title="Menu typo", priority="P3")
    calm = services.ticket_set_status(ticket=calm, status=Ticket.Status.CLOSED)
    assert calm.urgency_rank == Urgency.DONE

    earlier = services.ticket_create(title="Sooner", priority="P2")
    moved = services.ticket_set_priority(ticket=earlier, priority="P0")
    assert moved.urgency_due_at == min(moved.response_due_at, moved.resolution_due_at)
    assert moved.urgency_due_at < earlier.urgency_due_at


def test_triage_queue_lists_tickets_in_the_urgency_rule_order(agent_client, queue):
    expected = [t.title for t in sorted(Ticket.objects.all(), key=urgency_rule)]

    assert titles(agent_client) == expected
    assert expected[0] in {"T1", "T6"}  # breached and open come first


def test_queue_filters_keep_their_meaning(agent_client, queue):
    tickets = sorted(Ticket.objects.all(), key=urgency_rule)
    soon = timezone.now() + timedelta(hours=1)

    mine = [t.title for t in tickets if t.assignee_id == queue.pk]
    breached = [t.title for t in tickets if t.is_breached]
    due_soon = [
        t.title
        for t in tickets
        if t.is_open
        and (
            (t.first_response_at is None and t.response_due_at <= soon)
            or (t.resolution_due_at <= soon and t.paused_at is None)
        )
    ]

    assert mine and breached and due_soon
    assert titles(agent_client, "?queue=breached") == breached
    assert titles(agent_client, "?queue=due_soon") == due_soon
    agent_client.force_login(queue)
    assert titles(agent_client, "?queue=mine") == mine


@pytest.mark.parametrize("queue_filter", ["", "mine", "breached", "due_soon", "unassigned"])
def test_triage_queue_reads_the_index_in_order(agent_client, queue, queue_filter):
    agent_client.force_login(queue)
    with CaptureQueriesContext(connection) as captured:
        agent_client.get("/admin/support/ticket/" + (f"?queue={queue_filter}" * bool(queue_filter)))
    (page,) = [
        q["sql"]
        for q in captured
        if "ORDER BY" in q["sql"] and "urgency_rank" in q["sql"] and "LIMIT" in q["sql"]
    ]

    plan = query_plan(page)

    assert not sorts_rows(plan), plan
