"""The SLA clock of a ticket: due times, warnings and the next instant worth checking.

A ticket counts two targets in its policy's business time, from
``clock_started_at`` (creation, or the last priority change):

* first response: until the first public reply by staff;
* resolution: stands still while *waiting on reporter* (and while resolved,
  should the ticket be reopened); the business minutes it stood still are
  added to the due time.

Minutes already used before the clock start (under an earlier priority) are
kept in ``*_used_minutes``: a priority change gives ``new due = now + (new
target - business time used)``.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from support.business_time import add, between
from support.models import SLAPolicy, Ticket, Urgency

RESPONSE = "response"
RESOLUTION = "resolution"
WARNING = "warning"
BREACH = "breach"


def _minutes(value: timedelta) -> int:
    return int(value.total_seconds() // 60)


def _after(ticket: Ticket, minutes: Decimal | int, used: int, paused: int = 0) -> datetime:
    calendar = ticket.calendar.business_calendar()
    remaining = max(int(minutes) - used, 0) + paused
    return add(calendar, ticket.clock_started_at, timedelta(minutes=remaining))


def policy_apply(ticket: Ticket, policy: SLAPolicy, *, now: datetime) -> None:
    """Start counting ``policy``'s targets from ``now``, keeping the business time used so far."""
    if ticket.pk is not None and ticket.clock_started_at is not None:
        ticket.response_used_minutes = business_minutes_used(ticket, RESPONSE, now=now)
        ticket.resolution_used_minutes = business_minutes_used(ticket, RESOLUTION, now=now)
        if ticket.paused_at is not None:
            ticket.paused_at = now
    ticket.calendar = policy.calendar
    ticket.first_response_minutes = policy.first_response_minutes
    ticket.resolution_minutes = policy.resolution_minutes
    ticket.warning_share = policy.warning_share
    ticket.clock_started_at = now
    ticket.paused_minutes = 0
    due_times_refresh(ticket)


def business_minutes_used(ticket: Ticket, metric: str, *, now: datetime) -> int:
    """Business minutes of ``metric``'s target used by ``now`` (pauses left out)."""
    calendar = ticket.calendar.business_calendar()
    if metric == RESPONSE:
        end = ticket.first_response_at or now
        return ticket.response_used_minutes + _minutes(
            between(calendar, ticket.clock_started_at, end)
        )
    end = ticket.paused_at or ticket.resolved_at or now
    running = _minutes(between(calendar, ticket.clock_started_at, end)) - ticket.paused_minutes
    return ticket.resolution_used_minutes + max(running, 0)


def due_times_refresh(ticket: Ticket) -> None:
    ticket.response_due_at = _after(
        ticket, ticket.first_response_minutes, ticket.response_used_minutes
    )
    ticket.resolution_due_at = _after(
        ticket, ticket.resolution_minutes, ticket.resolution_used_minutes, ticket.paused_minutes
    )
    ticket.next_sla_check_at = next_check(ticket)


def warning_at(ticket: Ticket, metric: str) -> datetime:
    share = ticket.warning_share
    if metric == RESPONSE:
        return _after(ticket, share * ticket.first_response_minutes, ticket.response_used_minutes)
    return _after(
        ticket,
        share * ticket.resolution_minutes,
        ticket.resolution_used_minutes,
        ticket.paused_minutes,
    )


def checkpoints(ticket: Ticket) -> list[tuple[datetime, str, str]]:
    """The warnings and breaches still to mark: (instant, metric, level)."""
    if not ticket.is_open:
        return []
    points = []
    if ticket.first_response_at is None:
        if ticket.response_warned_at is None:
            points.append((warning_at(ticket, RESPONSE), RESPONSE, WARNING))
        if ticket.response_breached_at is None:
            points.append((ticket.response_due_at, RESPONSE, BREACH))
    if ticket.paused_at is None:
        if ticket.resolution_warned_at is None:
            points.append((warning_at(ticket, RESOLUTION), RESOLUTION, WARNING))
        if ticket.resolution_breached_at is None:
            points.append((ticket.resolution_due_at, RESOLUTION, BREACH))
    return sorted(points)


def next_check(ticket: Ticket) -> datetime | None:
    points = checkpoints(ticket)
    return points[0][0] if points else None


def pause(ticket: Ticket, *, now: datetime) -> None:
    if ticket.paused_at is None:
        ticket.paused_at = now
    ticket.next_sla_check_at = next_check(ticket)


def resume(ticket: Ticket, *, now: datetime, since: datetime | None = None) -> None:
    """Start the resolution clock again; the stand-still moves the due time by as much."""
    stopped = since or ticket.paused_at
    if stopped is not None:
        calendar = ticket.calendar.business_calendar()
        ticket.paused_minutes += _minutes(between(calendar, stopped, now))
    ticket.paused_at = None
    due_times_refresh(ticket)


def urgency_refresh(ticket: Ticket) -> None:
    """Store the triage order's key on the ticket: its rank, then the due time that matters.

    Open before done, breached before not, then the nearest due time: the
    first response's or the resolution's, whichever comes first, until the
    first response; the resolution's after it. The triage list and its
    queues read this key through an index instead of sorting every ticket.
    """
    breached = ticket.is_breached
    if ticket.is_open:
        ticket.urgency_rank = Urgency.OPEN_BREACHED if breached else Urgency.OPEN
    else:
        ticket.urgency_rank = Urgency.DONE_BREACHED if breached else Urgency.DONE
    if ticket.first_response_at is None:
        ticket.urgency_due_at = min(ticket.response_due_at, ticket.resolution_due_at)
    else:
        ticket.urgency_due_at = ticket.resolution_due_at
