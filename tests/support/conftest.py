"""Fixtures of the support tests: an on-call team and a frozen clock."""

from datetime import date

import pytest
import time_machine

from core import roles
from support.calendars import ON_CALL_ROTATION
from support.models import Rotation, RotationMember
from tests.support.on_call_helpers import OnCallTeam, at, person_make


@pytest.fixture
def team(db) -> OnCallTeam:
    anna = person_make("anna", "+46701110001", "U0ANNA", roles.SUPPORT_AGENTS)
    bo = person_make("bo", "+46701110002", "U0BO", roles.SUPPORT_AGENTS)
    lena = person_make("lena", "+46701110003", "U0LENA", roles.SUPPORT_LEADS)
    rotation = Rotation.objects.get(name=ON_CALL_ROTATION)
    rotation.starts_on = date(2026, 11, 16)  # a Monday: hand-off at 09:00
    rotation.save()
    RotationMember.objects.create(rotation=rotation, user=anna, position=0)
    RotationMember.objects.create(rotation=rotation, user=bo, position=1)
    return OnCallTeam(anna, bo, lena, rotation)


@pytest.fixture
def clock():
    """Stockholm wall-clock time, frozen; call it with "YYYY-MM-DD HH:MM" to move."""
    with time_machine.travel(at("2026-11-16 09:00"), tick=False) as traveller:
        yield lambda text: traveller.move_to(at(text))
