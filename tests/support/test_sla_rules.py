"""The SLA rules decided: priority changes, stand-stills and warnings, in worked examples.

The calendars are the seeded ones: P0 and P1 count 24/7, P2 and P3 count
Monday to Friday 08:00-18:00 in Stockholm. 16 November 2026 is a Monday.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from support import selectors, services, sla
from support.models import SLAPolicy, Ticket, Urgency

pytestmark = pytest.mark.django_db
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM)


def local(instant) -> str:
    return instant.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M:%S")


def new(priority: str, created: str) -> Ticket:
    return services.ticket_create(
        title="The QR code at the till", priority=priority, now=at(created)
    )


def status(ticket: Ticket, value: str, when: str) -> None:
    services.ticket_set_status(ticket=ticket, status=value, now=at(when))


def reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def test_p3_raised_to_p1_after_a_day_is_due_as_if_it_had_always_been_p1():
    ticket = new("P3", "2026-11-16 09:00")

    services.ticket_set_priority(ticket=ticket, priority="P1", now=at("2026-11-17 09:00"))
    swept = services.sla_sweep(now=at("2026-11-17 09:00"))

    ticket = reload(ticket)
    # P1: respond in 2 h, resolve in 24 h, around the clock, from Monday 09:00.
    assert local(ticket.response_due_at) == "2026-11-16 11:00:00"
    assert local(ticket.resolution_due_at) == "2026-11-17 09:00:00"
    assert swept.breaches == 2
    assert ticket.response_breached_at == ticket.resolution_breached_at == at("2026-11-17 09:00")
    assert ticket.urgency_rank == Urgency.OPEN_BREACHED


def test_p2_raised_to_p0_on_monday_counts_the_weekend_wait_on_the_new_calendar(admin_user):
    ticket = new("P2", "2026-11-20 16:00")  # a Friday
    services.ticket_reply(
        ticket=ticket, body="Looking.", actor=admin_user, now=at("2026-11-20 16:10")
    )
    status(ticket, Ticket.Status.WAITING, "2026-11-20 17:00")
    services.ticket_reporter_reply(ticket=ticket, body="Still broken.", now=at("2026-11-23 09:00"))

    services.ticket_set_priority(ticket=ticket, priority="P0", now=at("2026-11-23 10:00"))

    ticket = reload(ticket)
    # P0 resolves in 4 h around the clock: 1 h on Friday, then the weekend's
    # wait (64 h on the 24/7 calendar, not the 2 business hours it was on
    # P2's) stands still, then 3 h from Monday 09:00.
    assert local(ticket.resolution_due_at) == "2026-11-23 12:00:00"
    assert local(ticket.response_due_at) == "2026-11-20 16:15:00"  # met at 16:10
    assert local(ticket.next_sla_check_at) == "2026-11-23 11:00:00"  # 75 % of 4 h
    assert services.sla_sweep(now=at("2026-11-23 10:00")).breaches == 0


def test_p1_lowered_to_p3_after_a_weekend_keeps_its_breach_and_gets_p3_time(admin_user):
    ticket = new("P1", "2026-11-20 17:00")  # a Friday: resolve by Saturday 17:00
    services.ticket_reply(
        ticket=ticket, body="On it.", actor=admin_user, now=at("2026-11-20 17:30")
    )
    services.sla_sweep(now=at("2026-11-21 17:00"))
    breached_at = reload(ticket).resolution_breached_at

    services.ticket_set_priority(ticket=ticket, priority="P3", now=at("2026-11-23 09:00"))

    ticket = reload(ticket)
    # P3: 200 business hours from Friday 17:00: 1 h on Friday, 199 h from
    # Monday the 23rd: 19 days of 10 h and 9 h on the twentieth, Friday 18 December.
    assert local(ticket.resolution_due_at) == "2026-12-18 17:00:00"
    assert ticket.resolution_breached_at == breached_at == at("2026-11-21 17:00")
    assert ticket.urgency_rank == Urgency.OPEN_BREACHED
    assert services.sla_sweep(now=at("2026-11-23 09:00")).breaches == 0


def test_a_downgrade_never_makes_a_ticket_overdue_by_itself():
    ticket = new("P2", "2026-11-16 09:00")  # respond by Tuesday 09:00
    SLAPolicy.objects.filter(priority="P3").update(first_response_minutes=30, resolution_minutes=60)

    services.ticket_set_priority(ticket=ticket, priority="P3", now=at("2026-11-16 10:00"))
    swept = services.sla_sweep(now=at("2026-11-16 10:00"))

    ticket = reload(ticket)
    # P3's 30 minutes had run out at 09:30: the ticket keeps the 9 hours P2 had left.
    assert local(ticket.response_due_at) == "2026-11-17 09:00:00"
    assert local(ticket.resolution_due_at) == "2026-11-23 09:00:00"
    assert swept.breaches == 0
    assert ticket.response_breached_at is None and ticket.resolution_breached_at is None


def test_priority_change_on_a_resolved_ticket_is_refused_and_reopening_is_not_late(admin_user):
    ticket = new("P2", "2026-11-16 09:00")  # resolve within 50 business hours
    services.ticket_reply(
        ticket=ticket, body="Fixed?", actor=admin_user, now=at("2026-11-16 09:30")
    )
    status(ticket, Ticket.Status.RESOLVED, "2026-11-16 15:00")

    with pytest.raises(services.TicketError, match="resolved: reopen it before changing"):
        services.ticket_set_priority(ticket=ticket, priority="P3", now=at("2026-11-17 10:00"))
    status(ticket, Ticket.Status.IN_PROGRESS, "2026-11-18 10:00")

    ticket = reload(ticket)
    assert ticket.priority == "P2"
    # 6 h used on Monday; 44 h left from Wednesday 10:00: Wed 8, Thu 10, Fri 10,
    # Mon 10, and 6 h on Tuesday the 24th.
    assert local(ticket.resolution_due_at) == "2026-11-24 14:00:00"


def test_priority_change_on_a_closed_ticket_is_refused():
    ticket = new("P2", "2026-11-16 09:00")
    status(ticket, Ticket.Status.CLOSED, "2026-11-16 10:00")

    with pytest.raises(services.TicketError, match="closed"):
        services.ticket_set_priority(ticket=ticket, priority="P0", now=at("2026-11-16 11:00"))
    assert reload(ticket).priority == "P2"


def test_the_response_clock_does_not_run_while_resolved():
    ticket = new("P2", "2026-11-16 09:00")  # respond by Tuesday 09:00
    status(ticket, Ticket.Status.RESOLVED, "2026-11-16 10:00")
    status(ticket, Ticket.Status.IN_PROGRESS, "2026-11-17 10:00")

    ticket = reload(ticket)
    # 1 h used before resolving, 9 h from Tuesday 10:00: Tuesday 8 h, Wednesday 1 h.
    assert local(ticket.response_due_at) == "2026-11-18 09:00:00"
    assert services.sla_sweep(now=at("2026-11-17 10:00")).breaches == 0


def test_p0_first_warning_comes_at_75_percent_of_15_minutes_to_the_second():
    ticket = new("P0", "2026-11-16 09:00")

    assert local(ticket.next_sla_check_at) == "2026-11-16 09:11:15"
    assert services.sla_sweep(now=at("2026-11-16 09:11:14")).warnings == 0
    assert services.sla_sweep(now=at("2026-11-16 09:11:15")).warnings == 1


def test_a_pause_is_not_rounded_to_whole_minutes():
    ticket = new("P2", "2026-11-16 09:00")  # resolve by Monday the 23rd 09:00
    status(ticket, Ticket.Status.WAITING, "2026-11-16 10:00:00")
    services.ticket_reporter_reply(ticket=ticket, body="Here.", now=at("2026-11-16 10:00:45"))

    assert local(reload(ticket).resolution_due_at) == "2026-11-23 09:00:45"


def test_mean_times_keep_pauses_across_a_priority_change(clock):
    ticket = new("P2", "2026-11-16 09:00")  # the clock fixture: created on Monday 16th
    status(ticket, Ticket.Status.WAITING, "2026-11-16 10:00")
    status(ticket, Ticket.Status.IN_PROGRESS, "2026-11-16 12:00")
    services.ticket_set_priority(ticket=ticket, priority="P3", now=at("2026-11-16 13:00"))
    status(ticket, Ticket.Status.RESOLVED, "2026-11-16 15:00")

    means = selectors.mean_business_times(start=at("2026-11-16 00:00"), end=at("2026-11-17 00:00"))

    p3 = next(row for row in means if row.priority == "P3")
    assert (p3.resolutions, p3.mean_resolution_minutes) == (1, 240)  # 6 h less 2 h waiting
    assert sla.time_taken(reload(ticket), sla.RESPONSE) is None
