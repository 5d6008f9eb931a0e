"""Staged rollouts on a frozen clock: promoted when green, rolled back once when not."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from core import flags, roles
from core.maintenance import run_job
from core.models import Event, Message
from pilots.models import Business, Feedback, QRCode, Tag
from rollouts import services
from rollouts.models import Flag, Rollout
from rollouts.selectors import flag_cohorts
from rollouts.services import ROLLBACK_PURPOSE
from support.models import Incident

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # the frozen clock: every step passes its "now"
HOUR = timedelta(hours=1)
PLAN = [
    {"percentage": 10, "soak_minutes": 60},
    {"percentage": 50, "soak_minutes": 60},
    {"percentage": 100, "soak_minutes": 60},
]
FLAG = "quality_rubric_v2"


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def cafes(make_business):
    """60 cafés tagged beta (the audience) and 10 others."""
    beta = Tag.objects.create(name="beta")
    tagged = [make_business(f"Beta café {n}") for n in range(60)]
    for business in tagged:
        business.tags.add(beta)
    others = [make_business(f"Other café {n}") for n in range(10)]
    return tagged, others


@pytest.fixture
def manager(staff_member):
    user = staff_member(roles.PILOT_MANAGERS)
    user.email = "manager@pilotops.example"
    user.save()
    return user


@pytest.fixture
def rubric_flag(cafes, committed):
    flag = Flag.objects.get(name=FLAG)
    with committed():
        return services.flag_change(
            flag=flag, tags=Tag.objects.filter(name="beta"), reason="target the beta cafés"
        )


def start(flag, **guards) -> Rollout:
    return services.rollout_start(flag=flag, stages=PLAN, now=T0, **guards)


def traffic(at: datetime, *, requests: int, errors: int = 0, on: bool = True) -> None:
    """Requests that checked the flag at ``at``, as the middleware counts them."""
    for n in range(requests):
        flags.tally.add({FLAG: on}, failed=n < errors, at=at)
    flags.request_counts_write()


def guard_run(now: datetime) -> str:
    return run_job("rollouts_guard", now=now).summary


def inside(flag: Flag) -> set[int]:
    flag.refresh_from_db()
    return {business.pk for business in flag_cohorts(flag).inside}


def test_rollout_with_green_guards_moves_10_50_100_after_each_soak(rubric_flag, cafes):
    tagged, others = cafes
    rollout = start(rubric_flag, min_requests=20)
    seen = {}

    for stage, percentage in enumerate((10, 50, 100)):
        stage_start = T0 + stage * HOUR
        traffic(stage_start + timedelta(minutes=1), requests=25)
        assert "soaking" in guard_run(stage_start + timedelta(minutes=59))
        rubric_flag.refresh_from_db()
        assert rubric_flag.percentage == percentage
        seen[percentage] = inside(rubric_flag)
        outcome = guard_run(stage_start + HOUR)
        assert outcome == ("1 completed" if percentage == 100 else "1 promoted")

    rollout.refresh_from_db()
    rubric_flag.refresh_from_db()
    assert rollout.status == Rollout.Status.COMPLETED
    assert (rubric_flag.state, rubric_flag.percentage) == (Flag.State.ON, 100)
    assert seen[10] <= seen[50] <= seen[100] == {b.pk for b in tagged}
    assert 2 <= len(seen[10]) < len(seen[50]) < 60
    assert not {b.pk for b in others} & seen[100]
    actions = list(
        Event.objects.filter(subject_id=rubric_flag.pk, action__startswith="rollout")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "rollout_started",
        "rollout_promoted",
        "rollout_promoted",
        "rollout_completed",
    ]


def test_rollout_waits_for_traffic_before_promoting(rubric_flag):
    start(rubric_flag, min_requests=20)
    traffic(T0 + timedelta(minutes=1), requests=5)

    assert guard_run(T0 + 2 * HOUR) == "1 waiting for traffic"

    rubric_flag.refresh_from_db()
    assert rubric_flag.percentage == 10


def test_rollout_with_a_breached_error_rate_is_rolled_back_once(rubric_flag, manager):
    rollout = start(rubric_flag, min_requests=20)
    traffic(T0 + timedelta(minutes=3), requests=30, errors=3)  # 10 % against at most 2 %
    traffic(T0 + timedelta(minutes=3), requests=30, on=False)

    assert guard_run(T0 + timedelta(minutes=10)) == "1 rolled back"
    assert guard_run(T0 + timedelta(minutes=11)) == "nothing to do"

    rollout.refresh_from_db()
    rubric_flag.refresh_from_db()
    assert (rubric_flag.state, rubric_flag.percentage) == (Flag.State.OFF, 0)
    assert rollout.status == Rollout.Status.ROLLED_BACK
    assert "Error rate 10.0 against 0.0 outside (at most 2.00 %) breached" in rollout.reason
    incident = Incident.objects.get()
    assert rollout.incident == incident
    assert incident.title == f"Rolled back: {FLAG}"
    assert incident.businesses.count() >= 2  # the cafés it was on for
    assert "Error rate" in incident.updates.get().body
    message = Message.objects.get(purpose=ROLLBACK_PURPOSE)
    assert message.recipient == "manager@pilotops.example"
    assert "was canary 10 % of beta, now off" in message.body
    assert incident.reference in message.body
    history = Event.objects.get(subject_id=rubric_flag.pk, action="rolled_back")
    assert history.data["from"]["percentage"] == 10
    assert history.data["to"] == {"state": "off", "percentage": 0, "tags": ["beta"]}
    assert "Error rate" in history.data["reason"]


def add_feedback(business: Business, *, count: int, quality: int, at: datetime) -> None:
    code = QRCode.objects.filter(business=business).first() or QRCode.objects.create(
        business=business, placement="Table 1", token=f"t{business.pk:060d}"
    )
    Feedback.objects.bulk_create(
        Feedback(
            business=business,
            qr_code=code,
            rating=3,
            language="sv",
            quality_score=quality,
            client_hash=f"{business.pk:032d}{n:032d}",
            submitted_at=at,
        )
        for n in range(count)
    )


def test_rollout_is_rolled_back_when_quality_inside_falls_behind_outside(rubric_flag, cafes):
    rollout = start(rubric_flag, min_requests=0, min_feedback=10)
    traffic(T0 + timedelta(minutes=1), requests=5)
    members = inside(rubric_flag)
    for business in cafes[0] + cafes[1]:
        quality = 40 if business.pk in members else 80
        add_feedback(business, count=4, quality=quality, at=T0 + timedelta(minutes=20))

    assert guard_run(T0 + timedelta(minutes=30)) == "1 rolled back"

    rollout.refresh_from_db()
    assert "Average quality 40.0 against 80.0 outside" in rollout.reason
    assert Incident.objects.count() == 1


def test_rollout_with_too_little_feedback_to_compare_is_not_held_back(rubric_flag, cafes):
    start(rubric_flag, min_requests=0, min_feedback=10)
    add_feedback(cafes[1][0], count=3, quality=90, at=T0 + timedelta(minutes=5))

    assert guard_run(T0 + HOUR) == "1 promoted"


ALERT_TOKEN = "alertmanager-test-token"


def alert_payload(status: str = "firing") -> dict:
    return {
        "version": "4",
        "status": status,
        "alerts": [
            {
                "status": status,
                "fingerprint": "feature-errors-1",
                "labels": {
                    "alertname": "FeatureErrorRateHigh",
                    "feature": FLAG,
                    "severity": "warning",
                },
                "annotations": {"summary": "quality_rubric_v2 requests fail"},
                "startsAt": "2026-03-02T08:05:00Z",
            }
        ],
    }


def alert_send(payload: dict):
    return Client().post(
        "/webhooks/alertmanager/",
        data=json.dumps(payload),
        content_type="application/json",
        headers={"Authorization": f"Bearer {ALERT_TOKEN}"},
    )


def test_alert_labelled_with_the_feature_rolls_it_back_once_on_one_incident(
    rubric_flag, manager, settings
):
    settings.ALERTMANAGER_TOKEN = ALERT_TOKEN
    rollout = start(rubric_flag)

    assert alert_send(alert_payload()).status_code == 200
    assert alert_send(alert_payload()).status_code == 200  # Alertmanager repeats itself

    rollout.refresh_from_db()
    rubric_flag.refresh_from_db()
    assert rubric_flag.state == Flag.State.OFF
    assert rollout.status == Rollout.Status.ROLLED_BACK
    assert rollout.reason == "alert FeatureErrorRateHigh firing"
    incident = Incident.objects.get()
    assert incident.alert_fingerprint == "feature-errors-1"
    assert rollout.incident == incident
    assert any("Rolled back: alert FeatureErrorRateHigh" in u.body for u in incident.updates.all())
    assert Message.objects.filter(purpose=ROLLBACK_PURPOSE).count() == 1
    assert Event.objects.filter(subject_id=rubric_flag.pk, action="rolled_back").count() == 1


def test_alert_without_a_feature_label_or_resolved_rolls_nothing_back(rubric_flag, settings):
    settings.ALERTMANAGER_TOKEN = ALERT_TOKEN
    start(rubric_flag)
    unlabelled = alert_payload()
    del unlabelled["alerts"][0]["labels"]["feature"]

    alert_send(unlabelled)
    alert_send(alert_payload("resolved"))

    rubric_flag.refresh_from_db()
    assert rubric_flag.state == Flag.State.CANARY


@pytest.mark.parametrize(
    ("label", "status"),
    [
        ("QUALITY_RUBRIC_V2", 200),
        (["x"], 200),
        ("x" * 80, 200),
        ("quality rubric\x00v2", 400),  # a NUL character: the whole body is refused
    ],
)
def test_alert_with_an_odd_feature_label_is_taken_and_rolls_nothing_back(
    rubric_flag, settings, label, status
):
    settings.ALERTMANAGER_TOKEN = ALERT_TOKEN
    start(rubric_flag)
    odd = alert_payload()
    odd["alerts"][0]["labels"]["feature"] = label

    assert alert_send(odd).status_code == status

    rubric_flag.refresh_from_db()
    assert rubric_flag.state == Flag.State.CANARY


def test_rollout_refuses_a_second_running_rollout_and_manual_changes(rubric_flag):
    start(rubric_flag)

    with pytest.raises(ValidationError, match="already has a running rollout"):
        start(rubric_flag)
    with pytest.raises(services.FlagError, match="being rolled out"):
        services.flag_change(flag=rubric_flag, percentage=100, reason="impatient")


@pytest.mark.parametrize(
    "stages",
    [
        [],
        [{"percentage": 50, "soak_minutes": 60}, {"percentage": 10, "soak_minutes": 60}],
        [{"percentage": 10, "soak_minutes": 0}],
        [{"percentage": 101, "soak_minutes": 5}],
    ],
)
def test_rollout_plan_must_rise_with_soak_times(rubric_flag, stages):
    with pytest.raises(ValidationError, match=r"stage|Percentages|soak"):
        services.rollout_start(flag=rubric_flag, stages=stages, now=T0)
    assert not Rollout.objects.exists()
