"""The rollouts admin: the flag × tag panel, changes with reasons, Pilot managers only."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core import flags
from core.models import Event, Message
from pilots.models import Tag
from rollouts import services
from rollouts.forms import plan_parse
from rollouts.models import Flag, Rollout
from support.models import Incident
from tests.admin_forms import change_form_data

pytestmark = pytest.mark.django_db

PANEL = "/admin/rollouts/flag/"
EMERGENCY = "/admin/rollouts/flag/roll-back-everything/"


@pytest.fixture
def beta_cafes(make_business):
    beta = Tag.objects.create(name="beta")
    Tag.objects.create(name="stockholm")
    cafes = [make_business(f"Beta café {n}") for n in range(10)]
    for cafe in cafes:
        cafe.tags.add(beta)
    make_business("Untagged café")
    return cafes


@pytest.fixture
def rolling(beta_cafes):
    flag = Flag.objects.get(name="quality_rubric_v2")
    flag = services.flag_change(flag=flag, tags=Tag.objects.filter(name="beta"), reason="beta")
    services.rollout_start(flag=flag, stages=plan_parse("10% 1h, 50% 2h, 100% 4h"), min_requests=20)
    for _ in range(8):
        flags.tally.add({flag.name: True}, failed=False, at=timezone.now())
    flags.request_counts_write()
    return flag


def test_panel_shows_flags_by_tag_with_stage_guards_and_history(manager_client, rolling):
    page = manager_client.get(PANEL).content.decode()

    text = page[page.index("<strong>quality_rubric_v2") : page.index("<strong>sms_reward_links")]
    assert "Canary 10 %" in text
    assert "stage 1 of 3 (10 %)" in text and "plan 10 % → 50 % → 100 %" in text
    assert re.search(r'title="beta">\d+ / 10<', text)
    assert 'title="stockholm">0 / 0<' in text
    assert "Error rate" in text and "at most 2.00 %" in text
    assert "8 of 20 requests needed" in text
    assert "Average quality" in text and "too little to compare" in text
    assert "canary 10 % of beta: Rollout started" in page  # the history, from → to: why
    assert "Roll everything back" in page


def test_flag_change_needs_a_reason_and_lands_in_the_history(manager_client, staff_member):
    flag = Flag.objects.get(name="sms_reward_links")
    url = f"/admin/rollouts/flag/{flag.pk}/change/"
    form = change_form_data(manager_client.get(url), state="canary", percentage="25")
    refused = manager_client.post(url, form)
    assert refused.status_code == 200  # no reason: the form says so
    assert "reason" in refused.context["adminform"].form.errors
    flag.refresh_from_db()
    assert flag.state == Flag.State.ON

    response = manager_client.post(url, {**form, "reason": "halve the SMS cost"})

    assert response.status_code == 302
    flag.refresh_from_db()
    assert (flag.state, flag.percentage) == (Flag.State.CANARY, 25)
    event = Event.objects.get(subject_id=flag.pk, action="flag_changed")
    assert event.actor.username == "pilot-managers"
    assert event.message == (
        "on for every business → canary 25 % of every business: halve the SMS cost"
    )
    page = manager_client.get(url).content.decode()
    assert "halve the SMS cost" in page and "pilot-managers" in page


@pytest.mark.parametrize("who", ["agent_client", "viewer_client"])
def test_only_pilot_managers_change_flags(who, request, rolling):
    client = request.getfixturevalue(who)
    flag = Flag.objects.get(name="sms_reward_links")

    assert client.get(PANEL).status_code == 200
    assert "Roll everything back" not in client.get(PANEL).content.decode()
    assert client.post(EMERGENCY, {"reason": "panic"}).status_code == 403
    changed = client.post(
        f"/admin/rollouts/flag/{flag.pk}/change/",
        {"state": "off", "percentage": "0", "reason": "no", "description": ""},
    )
    assert changed.status_code == 403
    assert client.get("/admin/rollouts/rollout/add/").status_code == 403
    flag.refresh_from_db()
    assert flag.state == Flag.State.ON


def test_roll_everything_back_turns_every_flag_off_in_one_incident(
    manager_client, rolling, staff_member
):
    manager = staff_member("Pilot managers", username="lead-manager")
    manager.email = "lead@pilotops.example"
    manager.save()
    assert "Roll back" in manager_client.get(EMERGENCY).content.decode()

    response = manager_client.post(EMERGENCY, {"reason": "SMS gateway bills double"})

    assert response.status_code == 302
    assert set(Flag.objects.values_list("state", flat=True)) == {Flag.State.OFF}
    rollout = Rollout.objects.get()
    assert rollout.status == Rollout.Status.ROLLED_BACK
    assert rollout.reason == "SMS gateway bills double"
    incident = Incident.objects.get()
    assert incident.title == "Rolled back: quality_rubric_v2, sms_reward_links"
    assert rollout.incident == incident
    message = Message.objects.get(purpose=services.ROLLBACK_PURPOSE)
    assert "Rolled back by pilot-managers: SMS gateway bills double" in message.body
    assert Event.objects.filter(action="rolled_back", actor__username="pilot-managers").count() == 2


def test_start_and_roll_back_a_rollout_from_the_admin(manager_client, beta_cafes):
    flag = Flag.objects.get(name="quality_rubric_v2")
    started = manager_client.post(
        "/admin/rollouts/rollout/add/",
        {
            "flag": flag.pk,
            "plan": "10% 30m, 100% 2h",
            "max_error_rate": "1",
            "min_requests": "50",
            "max_completion_drop": "10",
            "max_quality_drop": "5",
            "max_payment_success_drop": "2",
            "min_feedback": "10",
        },
    )
    assert started.status_code == 302
    rollout = Rollout.objects.get()
    assert rollout.stages == [
        {"percentage": 10, "soak_minutes": 30},
        {"percentage": 100, "soak_minutes": 120},
    ]
    assert rollout.min_requests == 50
    flag.refresh_from_db()
    assert (flag.state, flag.percentage) == (Flag.State.CANARY, 10)
    page = manager_client.get(f"/admin/rollouts/rollout/{rollout.pk}/change/").content.decode()
    assert "Roll back now" in page and "Error rate" in page

    manager_client.post(
        f"/admin/rollouts/rollout/{rollout.pk}/roll-back/", {"reason": "complaints at Aurora"}
    )

    rollout.refresh_from_db()
    assert rollout.status == Rollout.Status.ROLLED_BACK
    assert Incident.objects.get().title == "Rolled back: quality_rubric_v2"


def test_rollout_plan_in_words_is_read_or_refused():
    assert plan_parse("5% 15m; 25 % 1h\n100% for 1d") == [
        {"percentage": 5, "soak_minutes": 15},
        {"percentage": 25, "soak_minutes": 60},
        {"percentage": 100, "soak_minutes": 1440},
    ]
    for bad in ("", "ten percent", "50% 1h, 10% 1h", "10% 0m", "10% 1y"):
        with pytest.raises(ValidationError):
            plan_parse(bad)
