"""Who is on call at an instant: a rotation's turn, then the overrides that cover it.

A rotation's members take turns in the order of their position, each for
``shift_weeks`` weeks, handing over on ``handoff_weekday`` at
``handoff_time`` in the rotation's time zone (wall-clock time, so a hand-off
at 09:00 stays at 09:00 across the DST changes). The first shift starts at the
first hand-off on or after ``starts_on``; before it nobody is on call.

The *secondary* is the member whose turn comes next. An override puts
someone else on the primary or secondary tier for a while (holiday cover, a
swap); when overrides overlap the newest wins. When the primary's cover is
the scheduled secondary, the secondary moves on to the next member who is
neither the cover nor the one covered (who may be away).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.utils import timezone

from support.models import OnCallOverride, OnCallTier, Rotation, RotationMember


@dataclass(frozen=True)
class OnCall:
    rotation: Rotation
    primary: User | None
    secondary: User | None
    until: datetime | None  # when this changes next (a hand-off or an override's edge)
    covering: tuple[OnCallOverride, ...] = ()


def first_handoff(rotation: Rotation) -> datetime:
    offset = (rotation.handoff_weekday - rotation.starts_on.weekday()) % 7
    day = rotation.starts_on + timedelta(days=offset)
    return datetime.combine(day, rotation.handoff_time, tzinfo=ZoneInfo(rotation.timezone))


def shift_number(rotation: Rotation, instant: datetime) -> int | None:
    """How many shifts have begun before ``instant``, less one; None before the first."""
    first = first_handoff(rotation)
    if instant < first:
        return None
    zone = ZoneInfo(rotation.timezone)
    weeks = (instant.astimezone(zone).date() - first.date()).days // 7
    this_week = datetime.combine(first.date() + timedelta(weeks=weeks), first.timetz())
    if this_week > instant:
        weeks -= 1
    return weeks // rotation.shift_weeks


def next_handoff(rotation: Rotation, instant: datetime) -> datetime:
    first = first_handoff(rotation)
    number = shift_number(rotation, instant)
    if number is None:
        return first
    day = first.date() + timedelta(weeks=(number + 1) * rotation.shift_weeks)
    return datetime.combine(day, first.timetz())


def on_call_at(
    rotation: Rotation,
    instant: datetime | None = None,
    *,
    members: list[RotationMember] | None = None,
    overrides: list[OnCallOverride] | None = None,
) -> OnCall:
    """Who is primary and secondary on ``rotation`` at ``instant`` (now by default).

    ``members`` and ``overrides`` may be given already loaded (the dashboard
    reads every rotation's at once); the overrides are those touching the
    instant or starting before the next hand-off.
    """
    instant = instant or timezone.now()
    handoff = next_handoff(rotation, instant)
    if members is None:
        members = list(rotation.members.select_related("user").order_by("position"))
    if overrides is None:
        overrides = list(
            rotation.overrides.select_related("user").filter(
                ends_at__gt=instant, starts_at__lt=handoff
            )
        )
    people = [member.user for member in members]
    number = shift_number(rotation, instant)
    primary = secondary = None
    if people and number is not None:
        primary = people[number % len(people)]
        secondary = people[(number + 1) % len(people)] if len(people) > 1 else None
    active = sorted(
        (o for o in overrides if o.starts_at <= instant < o.ends_at),
        key=lambda o: (o.created_at, o.pk),
    )
    scheduled = primary
    for override in active:  # oldest first: the newest has the last word
        if override.tier == OnCallTier.PRIMARY:
            primary = override.user
    if primary is not None and secondary is not None and secondary.pk == primary.pk:
        secondary = _next_after(people, secondary, skip={primary.pk, scheduled.pk})
    for override in active:
        if override.tier == OnCallTier.SECONDARY:
            secondary = override.user
    edges = [handoff]
    edges += [o.ends_at for o in active]
    edges += [o.starts_at for o in overrides if o.starts_at > instant]
    return OnCall(rotation, primary, secondary, min(edges), tuple(active))


def _next_after(people: list[User], member: User, *, skip: set[int]) -> User | None:
    """The first member after ``member`` in turn order whose id is not in ``skip``."""
    start = [person.pk for person in people].index(member.pk)
    for step in range(1, len(people)):
        candidate = people[(start + step) % len(people)]
        if candidate.pk not in skip:
            return candidate
    return None
