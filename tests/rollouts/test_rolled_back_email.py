"""The rollback e-mail reaches each Pilot manager in the language they chose for the back office."""

import pytest

from core import roles
from core.models import Message
from core.services import staff_language_set
from rollouts import services
from rollouts.models import Flag
from rollouts.services import ROLLBACK_PURPOSE

pytestmark = pytest.mark.django_db


def test_rolled_back_email_in_each_managers_language(staff_member):
    # Given a Swedish-speaking and an English-speaking Pilot manager, and a flag on
    maria = staff_member(roles.PILOT_MANAGERS, username="maria")
    anna = staff_member(roles.PILOT_MANAGERS, username="anna")
    for user, address in ((maria, "maria@pilotops.example"), (anna, "anna@pilotops.example")):
        user.email = address
        user.save()
    staff_language_set(user=maria, language="sv")
    flag = Flag.objects.order_by("name").first()
    services.flag_change(flag=flag, reason="try it", state=Flag.State.ON)

    # When everything is rolled back
    services.flags_roll_back_all(reason="errors at the till", actor=anna)

    # Then each reads the e-mail in their own language
    swedish = Message.objects.get(purpose=ROLLBACK_PURPOSE, recipient="maria@pilotops.example")
    english = Message.objects.get(purpose=ROLLBACK_PURPOSE, recipient="anna@pilotops.example")
    assert swedish.subject.startswith("Pilot Ops: ") and swedish.subject.endswith(" återställd")
    assert "Återställd av anna: errors at the till" in swedish.body
    assert f"{flag.name}: var på för alla verksamheter, nu av för alla verksamheter" in swedish.body
    assert "Incident:" in swedish.body
    assert english.subject.endswith(" rolled back") and flag.name in english.subject
    assert "Rolled back by anna: errors at the till" in english.body
    assert f"{flag.name}: was on for every business, now off for every business" in english.body
