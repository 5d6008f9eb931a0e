"""The SLA clock of a ticket: due times, warnings and the next instant worth checking.

A ticket counts two targets in its policy's business time from
``clock_started_at`` (when it was opened):

* first response: until the first public reply by staff; it stands still
  while the ticket is resolved (should it be reopened);
* resolution: stands still while *waiting on reporter* and while resolved.

Each stand-still is kept on the row as an interval of wall-clock time
(``pauses``), so it can be measured on any calendar, to the microsecond.

A priority change counts as if the ticket had had the new priority since its
clock started, minus the time it stood still, on the new policy's calendar
(the rule of Zendesk and Zammad): raising it may make it due, or overdue, at
once. Lowering it never makes it overdue by itself: a target not yet missed
keeps at least the business time the old priority had left. A warning or a
breach already marked stays marked.
"""

import math
from datetime import datetime, timedelta
from decimal import Decimal

from support.business_time import BusinessCalendar, add, between
from support.models import SLAPolicy, Ticket, Urgency

RESPONSE = "response"
RESOLUTION = "resolution"
METRICS = (RESPONSE, RESOLUTION)
WARNING = "warning"
BREACH = "breach"

# Why a clock stands still: waiting stops the resolution clock only, resolved stops both.
WAITING = "waiting"
RESOLVED = "resolved"
_STOPPED_BY = {RESPONSE: (RESOLVED,), RESOLUTION: (WAITING, RESOLVED)}


def _calendar(ticket: Ticket) -> BusinessCalendar:
    return ticket.calendar.business_calendar()


def target(ticket: Ticket, metric: str) -> timedelta:
    minutes = ticket.first_response_minutes if metric == RESPONSE else ticket.resolution_minutes
    return timedelta(minutes=minutes)


def pauses(ticket: Ticket, metric: str) -> list[tuple[datetime, datetime | None]]:
    """The intervals ``metric``'s clock stood still, oldest first (the last may be open)."""
    return sorted(
        (
            datetime.fromisoformat(pause["from"]),
            datetime.fromisoformat(pause["to"]) if pause["to"] else None,
        )
        for pause in ticket.pauses
        if pause["kind"] in _STOPPED_BY[metric]
    )


def clock_stop(ticket: Ticket, kind: str, *, now: datetime) -> None:
    """Stop the clocks ``kind`` stops, from ``now`` (a clock already stopped stays as it is)."""
    if any(pause["to"] is None for pause in ticket.pauses):
        return
    ticket.pauses = [*ticket.pauses, {"kind": kind, "from": now.isoformat(), "to": None}]


def clock_run(ticket: Ticket, *, now: datetime) -> None:
    """End the open stand-still at ``now``; the due times move by as much business time."""
    ticket.pauses = [
        {**pause, "to": now.isoformat()} if pause["to"] is None else pause
        for pause in ticket.pauses
    ]
    due_times_refresh(ticket)


def _due(ticket: Ticket, metric: str, amount: timedelta) -> datetime:
    """The instant ``amount`` of running clock after the start (an open pause counts as none)."""
    calendar = _calendar(ticket)
    cursor, remaining = ticket.clock_started_at, amount
    for stopped, restarted in pauses(ticket, metric):
        if stopped > cursor:
            running = between(calendar, cursor, stopped)
            if running >= remaining:
                break
            remaining -= running
            cursor = stopped
        if restarted is None:
            break
        cursor = max(cursor, restarted)
    return add(calendar, cursor, remaining)


def time_used(ticket: Ticket, metric: str, *, until: datetime) -> timedelta:
    """Business time of ``metric``'s clock run from the start until ``until``, pauses left out."""
    calendar = _calendar(ticket)
    start = ticket.clock_started_at
    used = between(calendar, start, until)
    for stopped, restarted in pauses(ticket, metric):
        used -= between(calendar, max(stopped, start), min(restarted or until, until))
    return used


def time_taken(ticket: Ticket, metric: str) -> timedelta | None:
    """Business time to the first response or to the resolution (None while there is none)."""
    end = ticket.first_response_at if metric == RESPONSE else ticket.resolved_at
    return None if end is None else time_used(ticket, metric, until=end)


def time_left(ticket: Ticket, metric: str, *, now: datetime) -> timedelta:
    """Business time left before ``metric`` is due (negative once overdue)."""
    calendar = _calendar(ticket)
    due = due_at(ticket, metric)
    if due >= now:
        return between(calendar, now, due)
    return -between(calendar, due, now)


def due_at(ticket: Ticket, metric: str) -> datetime:
    return ticket.response_due_at if metric == RESPONSE else ticket.resolution_due_at


def policy_apply(ticket: Ticket, policy: SLAPolicy, *, now: datetime) -> None:
    """Count ``policy``'s targets on ``policy``'s calendar from the clock start (now if new).

    On a change to a less urgent priority, a target not yet missed keeps at
    least the business time the old priority had left: a downgrade never
    makes a ticket overdue by itself.
    """
    started = ticket.clock_started_at is not None
    less_urgent = started and policy.priority > ticket.priority
    before = {metric: _standing(ticket, metric, now=now) for metric in METRICS} if started else {}
    ticket.priority = policy.priority
    ticket.calendar = policy.calendar
    ticket.first_response_minutes = policy.first_response_minutes
    ticket.resolution_minutes = policy.resolution_minutes
    ticket.warning_share = policy.warning_share
    if not started:
        ticket.clock_started_at = now
    due_times_refresh(ticket)
    if less_urgent:
        for metric, left in before.items():
            if left is not None and due_at(ticket, metric) <= now:
                _target_extend(ticket, metric, time_used(ticket, metric, until=now) + left)
        due_times_refresh(ticket)


def _standing(ticket: Ticket, metric: str, *, now: datetime) -> timedelta | None:
    """The business time ``metric`` has left, or None when it is done or already missed."""
    done = ticket.first_response_at if metric == RESPONSE else ticket.resolved_at
    breached = getattr(ticket, f"{metric}_breached_at")
    if done is not None or breached is not None or due_at(ticket, metric) <= now:
        return None
    return time_left(ticket, metric, now=now)


def _target_extend(ticket: Ticket, metric: str, amount: timedelta) -> None:
    minutes = math.ceil(amount.total_seconds() / 60)
    if metric == RESPONSE:
        ticket.first_response_minutes = max(ticket.first_response_minutes, minutes)
    else:
        ticket.resolution_minutes = max(ticket.resolution_minutes, minutes)


def due_times_refresh(ticket: Ticket) -> None:
    ticket.response_due_at = _due(ticket, RESPONSE, target(ticket, RESPONSE))
    ticket.resolution_due_at = _due(ticket, RESOLUTION, target(ticket, RESOLUTION))
    ticket.next_sla_check_at = next_check(ticket)


def warning_at(ticket: Ticket, metric: str) -> datetime:
    """When ``warning_share`` of the target is used, exactly: 75 % of 15 min is 11 min 15 s."""
    seconds = Decimal(ticket.warning_share) * Decimal(target(ticket, metric).total_seconds())
    return _due(ticket, metric, timedelta(seconds=float(seconds)))


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
