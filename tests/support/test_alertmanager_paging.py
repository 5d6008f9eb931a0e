"""Alertmanager's alerts hand their incidents to the escalation engine."""

import json

import pytest

from core.models import Message
from support.incidents import incident_acknowledge
from support.models import Escalation, Incident
from tests.support.on_call_helpers import beat, slack_mentions, sms_to

pytestmark = pytest.mark.django_db
TOKEN = "alertmanager-test-token"


def alert_post(settings, client, status: str, *, severity="critical", fingerprint="f00d"):
    settings.ALERTMANAGER_TOKEN = TOKEN
    payload = {
        "version": "4",
        "status": status,
        "alerts": [
            {
                "status": status,
                "fingerprint": fingerprint,
                "labels": {"alertname": "PilotOpsPaymentsFailing", "severity": severity},
                "annotations": {"summary": "Payout failures above 2 %"},
                "startsAt": "2026-11-22T02:00:00Z",
            }
        ],
    }
    return client.post(
        "/webhooks/alertmanager/",
        json.dumps(payload),
        content_type="application/json",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )


def test_a_critical_alert_pages_once_however_often_it_is_delivered(
    team, clock, sms_fake, slack_fake, client, settings
):
    clock("2026-11-22 03:00")
    for _ in range(3):
        assert alert_post(settings, client, "firing").status_code == 200
    beat(clock, "2026-11-22 03:00")
    assert sms_to(sms_fake) == [team.mobile(team.anna)]
    assert slack_mentions(slack_fake) == ["U0ANNA"]
    assert Escalation.objects.get().trigger == "opened"


def test_an_alert_firing_again_after_resolving_pages_again(
    team, clock, sms_fake, slack_fake, client, settings
):
    clock("2026-11-22 03:00")
    alert_post(settings, client, "firing")
    beat(clock, "2026-11-22 03:00")
    incident = Incident.objects.get()
    incident_acknowledge(incident=incident, actor=team.anna)
    clock("2026-11-22 03:10")
    alert_post(settings, client, "resolved")
    clock("2026-11-22 03:40")
    alert_post(settings, client, "firing")
    beat(clock, "2026-11-22 03:40")
    assert sms_to(sms_fake) == [team.mobile(team.anna)] * 2
    assert Escalation.objects.filter(incident=incident).count() == 2


def test_a_warning_alert_at_night_waits_for_the_morning_digest(
    team, clock, sms_fake, slack_fake, client, settings
):
    clock("2026-11-22 03:00")
    alert_post(settings, client, "firing", severity="warning")  # SEV3
    beat(clock, "2026-11-22 03:00")
    assert sms_fake.sent() == [] and slack_fake.posted() == []
    beat(clock, "2026-11-23 08:00")
    (digest,) = Message.objects.all()
    assert "INC-" in digest.body and digest.recipient == team.anna.email
