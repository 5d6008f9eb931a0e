"""Who is on call: turns at the hand-off (wall-clock, across DST), overrides, the secondary."""

from datetime import date, time

import pytest

from support.models import OnCallOverride, RotationMember
from support.oncall import on_call_at
from support.selectors import on_call_now
from tests.support.on_call_helpers import at, person_make

pytestmark = pytest.mark.django_db


def names(shift) -> tuple:
    return tuple(p.get_username() if p else None for p in (shift.primary, shift.secondary))


def test_members_take_turns_at_the_monday_hand_off(team):
    carl = person_make("carl", "+46701110004", "U0CARL")
    RotationMember.objects.create(rotation=team.rotation, user=carl, position=2)

    assert names(on_call_at(team.rotation, at("2026-11-16 08:59"))) == (None, None)
    assert names(on_call_at(team.rotation, at("2026-11-16 09:00"))) == ("anna", "bo")
    assert names(on_call_at(team.rotation, at("2026-11-23 08:59"))) == ("anna", "bo")
    assert names(on_call_at(team.rotation, at("2026-11-23 09:00"))) == ("bo", "carl")
    assert names(on_call_at(team.rotation, at("2026-11-30 09:00"))) == ("carl", "anna")
    assert names(on_call_at(team.rotation, at("2026-12-07 09:00"))) == ("anna", "bo")
    assert on_call_at(team.rotation, at("2026-11-20 12:00")).until == at("2026-11-23 09:00")


def test_the_hand_off_stays_at_nine_across_the_clock_changes(team):
    team.rotation.starts_on = date(2026, 3, 23)
    team.rotation.save()
    # Summer time starts Sunday 29 March 2026; winter time Sunday 25 October.
    assert names(on_call_at(team.rotation, at("2026-03-30 08:59"))) == ("anna", "bo")
    assert names(on_call_at(team.rotation, at("2026-03-30 09:00"))) == ("bo", "anna")
    team.rotation.starts_on = date(2026, 10, 19)
    team.rotation.save()
    assert names(on_call_at(team.rotation, at("2026-10-26 08:59"))) == ("anna", "bo")
    assert names(on_call_at(team.rotation, at("2026-10-26 09:00"))) == ("bo", "anna")


def test_two_week_shifts_and_another_hand_off_time(team):
    team.rotation.shift_weeks = 2
    team.rotation.handoff_weekday = 4  # Friday
    team.rotation.handoff_time = time(16)
    team.rotation.save()  # first hand-off: Friday 20 November 16:00
    assert names(on_call_at(team.rotation, at("2026-11-20 15:59"))) == (None, None)
    assert names(on_call_at(team.rotation, at("2026-11-20 16:00"))) == ("anna", "bo")
    assert names(on_call_at(team.rotation, at("2026-12-03 12:00"))) == ("anna", "bo")
    assert names(on_call_at(team.rotation, at("2026-12-04 16:00"))) == ("bo", "anna")


def test_holiday_cover_and_a_swap_override_the_turn(team):
    carl = person_make("carl", "+46701110004", "U0CARL")
    RotationMember.objects.create(rotation=team.rotation, user=carl, position=2)
    OnCallOverride.objects.create(
        rotation=team.rotation,
        tier="primary",
        user=team.bo,  # the secondary covers Anna's holiday
        starts_at=at("2026-11-18 00:00"),
        ends_at=at("2026-11-20 00:00"),
        reason="holiday",
    )
    OnCallOverride.objects.create(
        rotation=team.rotation,
        tier="secondary",
        user=team.lena,
        starts_at=at("2026-11-19 12:00"),
        ends_at=at("2026-11-19 18:00"),
        reason="swap",
    )
    assert names(on_call_at(team.rotation, at("2026-11-17 12:00"))) == ("anna", "bo")
    # Bo covers: the secondary moves on past both Bo and Anna (who is away).
    assert names(on_call_at(team.rotation, at("2026-11-18 12:00"))) == ("bo", "carl")
    assert on_call_at(team.rotation, at("2026-11-18 12:00")).until == at("2026-11-19 12:00")
    assert names(on_call_at(team.rotation, at("2026-11-19 13:00"))) == ("bo", "lena")
    assert names(on_call_at(team.rotation, at("2026-11-20 00:00"))) == ("anna", "bo")


def test_on_call_now_reads_every_rotation_in_three_queries(team, django_assert_num_queries, clock):
    clock("2026-11-17 12:00")
    with django_assert_num_queries(3):
        (shift,) = on_call_now()
    assert names(shift) == ("anna", "bo")
