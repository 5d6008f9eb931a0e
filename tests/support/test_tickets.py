"""Tickets and their SLA clock: the rules of DESIGN.md, checked with real calendars."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from core import roles
from support import services
from support.models import Page, Ticket, TicketEvent
from tests.conftest import outbox_delivered

pytestmark = pytest.mark.django_db
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM)


def local(instant) -> str:
    return instant.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def new(priority="P2", created="2026-11-16 09:00", **fields) -> Ticket:  # a Monday
    return services.ticket_create(
        title="QR code at table 4 does not scan", priority=priority, now=at(created), **fields
    )


def test_ticket_create_sets_due_times_from_the_policy():
    ticket = new("P2", "2026-11-20 17:30")

    assert ticket.reference == f"PO-{ticket.pk:05d}"
    assert local(ticket.response_due_at) == "2026-11-23 17:30"
    assert local(ticket.resolution_due_at) == "2026-11-27 17:30"  # 50 business hours
    assert ticket.next_sla_check_at < ticket.response_due_at  # the warning comes first
    assert ticket.events.get().kind == TicketEvent.Kind.CREATED


def test_only_a_public_staff_reply_is_a_first_response(admin_user):
    ticket = new()

    services.ticket_add_note(ticket=ticket, body="Looks like a printing issue.", actor=admin_user)
    ticket.refresh_from_db()
    assert ticket.first_response_at is None

    services.ticket_reply(
        ticket=ticket, body="We are on it.", actor=admin_user, now=at("2026-11-16 10:00")
    )
    ticket.refresh_from_db()
    assert local(ticket.first_response_at) == "2026-11-16 10:00"


def test_waiting_on_reporter_pauses_resolution_and_the_reply_resumes_it():
    ticket = new("P2", "2026-11-16 09:00")  # resolution due Mon 23rd 09:00
    assert local(ticket.resolution_due_at) == "2026-11-23 09:00"

    services.ticket_set_status(
        ticket=ticket, status=Ticket.Status.WAITING, now=at("2026-11-17 09:00")
    )
    paused = Ticket.objects.get(pk=ticket.pk)
    services.ticket_reporter_reply(ticket=ticket, body="Still broken", now=at("2026-11-18 09:00"))

    ticket.refresh_from_db()
    assert paused.paused_at is not None
    assert ticket.status == Ticket.Status.IN_PROGRESS
    assert [pause["kind"] for pause in ticket.pauses] == ["waiting"]  # one business day
    assert local(ticket.resolution_due_at) == "2026-11-24 09:00"


def test_priority_change_counts_from_the_clock_start():
    ticket = new("P3", "2026-11-16 09:00")  # respond within 50 business hours

    services.ticket_set_priority(ticket=ticket, priority="P2", now=at("2026-11-16 11:00"))

    ticket.refresh_from_db()
    # P2 responds within 10 h of Monday 09:00: 9 h on Monday, 1 h on Tuesday.
    assert local(ticket.response_due_at) == "2026-11-17 09:00"
    assert local(ticket.clock_started_at) == "2026-11-16 09:00"


def test_priority_change_past_the_new_target_is_overdue_at_once():
    ticket = new("P3", "2026-11-16 08:00")

    services.ticket_set_priority(ticket=ticket, priority="P0", now=at("2026-11-16 09:00"))

    ticket.refresh_from_db()
    assert local(ticket.response_due_at) == "2026-11-16 08:15"
    swept = services.sla_sweep(now=at("2026-11-16 09:00"))
    assert (swept.warnings, swept.breaches) == (1, 1)  # resolution is due at 12:00


def test_resolving_stops_the_clock_and_reopening_resumes_it():
    ticket = new("P2", "2026-11-16 09:00")

    services.ticket_set_status(
        ticket=ticket, status=Ticket.Status.RESOLVED, now=at("2026-11-16 10:00")
    )
    resolved = Ticket.objects.get(pk=ticket.pk)
    services.ticket_set_status(
        ticket=ticket, status=Ticket.Status.IN_PROGRESS, now=at("2026-11-17 10:00")
    )

    ticket.refresh_from_db()
    assert resolved.next_sla_check_at is None
    assert ticket.resolved_at is None
    assert local(ticket.resolution_due_at) == "2026-11-24 09:00"  # moved by 10 business hours


def test_dedupe_key_opens_one_ticket_while_it_is_open():
    first = new(dedupe_key="health:cafe-aurora:quality")
    again = new(dedupe_key="health:cafe-aurora:quality")

    assert first.pk == again.pk
    services.ticket_set_status(ticket=first, status=Ticket.Status.RESOLVED)
    assert new(dedupe_key="health:cafe-aurora:quality").pk != first.pk


# --- the sweep ----------------------------------------------------------------
@pytest.fixture
def lead(django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(
        "lena", email="lena@pilotops.example", is_staff=True
    )
    user.groups.add(Group.objects.get(name=roles.SUPPORT_LEADS))
    return user


def sla_notices(ticket) -> list[tuple[str, str]]:
    """(mark, recipient) of every SLA notice e-mailed about ``ticket``."""
    return sorted(
        (page.key, page.message.recipient)
        for page in Page.objects.filter(escalation__ticket=ticket, key__startswith="sla:")
    )


def test_sla_sweep_marks_warns_breaches_and_hands_each_mark_over_once(lead, django_user_model):
    agent = django_user_model.objects.create_user("ali", email="ali@pilotops.example")
    ticket = new("P0", "2026-11-21 03:00")  # respond by 03:15, warn at 75 %
    services.ticket_assign(ticket=ticket, assignee=agent)

    warned = services.sla_sweep(now=at("2026-11-21 03:12"))
    breached = services.sla_sweep(now=at("2026-11-21 03:16"))
    again = services.sla_sweep(now=at("2026-11-21 03:16"))

    ticket.refresh_from_db()
    assert (warned.warnings, warned.breaches) == (1, 0)
    assert breached.breaches == 1
    assert again.checked == 0 and again.notified == 0
    assert ticket.response_breached_at is not None
    assert ticket.escalation_level == 1
    marks = set(ticket.events.exclude(sla_mark="").values_list("sla_mark", flat=True))
    assert {"response:warning", "response:breach"} <= marks
    # The warning came while the escalation still had steps to come: it pages
    # already. The breach came after its last step was due: the owner and the
    # leads hear of it by e-mail, once.
    assert warned.notified == 0 and breached.notified == 2
    assert sla_notices(ticket) == [
        ("sla:response:breach", "ali@pilotops.example"),
        ("sla:response:breach", "lena@pilotops.example"),
    ]
    delivered = [m for m in outbox_delivered() if "response breach" in m.subject]
    assert sorted(address for m in delivered for address in m.to) == [
        "ali@pilotops.example",
        "lena@pilotops.example",
    ]


def test_sla_sweep_twice_at_the_same_instant_notifies_once(lead):
    ticket = new("P0", "2026-11-21 03:00")

    first = services.sla_sweep(now=at("2026-11-21 05:00"))
    second = services.sla_sweep(now=at("2026-11-21 05:00"))

    assert first.breaches == 1 and second.breaches == 0
    assert sla_notices(ticket) == [("sla:response:breach", "lena@pilotops.example")]
    assert len([m for m in outbox_delivered() if "response breach" in m.subject]) == 1


def test_sla_sweep_reads_only_the_tickets_that_are_due():
    from django.test.utils import CaptureQueriesContext

    template = new("P2", "2026-11-16 09:00")
    far = timezone.now() + timedelta(days=365)
    fields = {
        f.attname: getattr(template, f.attname)
        for f in Ticket._meta.concrete_fields
        if f.attname not in ("id", "reference", "next_sla_check_at")
    }
    Ticket.objects.bulk_create(
        (Ticket(**fields, reference=f"BULK-{n}", next_sla_check_at=far) for n in range(100_000)),
        batch_size=5000,
    )
    Ticket.objects.bulk_create(
        Ticket(**fields, reference=f"DUE-{n}", next_sla_check_at=at("2026-11-16 10:00"))
        for n in range(100)
    )
    Ticket.objects.filter(pk=template.pk).update(next_sla_check_at=far)

    with CaptureQueriesContext(connection) as captured:
        summary = services.sla_sweep(now=at("2026-11-16 10:00"))

    assert summary.checked == 100
    selection = next(
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT") and "next_sla_check_at" in q["sql"]
    )
    selection = selection.split(" FOR UPDATE")[0]  # the plan of the read itself
    with connection.cursor() as cursor:
        explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        cursor.execute(explain + selection)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "next_sla_check_at" in plan or "Index" in plan, plan
    assert "SCAN support_ticket" not in plan and "Seq Scan" not in plan, plan
