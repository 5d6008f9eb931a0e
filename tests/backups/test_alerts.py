"""The backup alert rules: on metrics /metrics exposes, and an incident when one fires."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from backups.models import Backup
from support.models import Incident, Severity
from tests.backups.factories import backup_recorded
from tests.conftest import PROJECT_DIR
from tests.core.test_business_metrics import scrape

pytestmark = pytest.mark.django_db

RULES = PROJECT_DIR / "deploy" / "prometheus" / "backup_alerts.yml"
TOKEN = "am-token-for-tests-0123456789"


def rule(name: str) -> dict:
    """One rule's labels and annotations, read from the rules file."""
    block = RULES.read_text().split(f"- alert: {name}\n", 1)[1].split("- alert:", 1)[0]
    return {
        "alert": name,
        "labels": {"severity": re.search(r"severity: (\w+)", block).group(1)},
        "annotations": {
            key: re.search(rf'{key}: "(.*)"', block).group(1) for key in ("summary", "runbook")
        },
    }


def test_every_metric_the_backup_rules_use_is_exposed(client):
    now = timezone.now()
    backup_recorded(
        now - timedelta(hours=1),
        verification=Backup.Verification.PASSED,
        verified_at=now,
        restore_seconds=12.0,
    )
    exposed = {name for name, _ in scrape(client)}

    used = set(re.findall(r"\bpilotops_[a-z0-9_]+\b", RULES.read_text()))

    assert {
        "pilotops_backup_age_seconds",
        "pilotops_backup_verify_last_success_timestamp",
        "pilotops_restore_seconds",
    } <= used
    assert used - exposed == set()


def test_a_firing_backup_alert_opens_an_incident_through_the_receiver(client, settings):
    settings.ALERTMANAGER_TOKEN = TOKEN
    fired = rule("PilotOpsNoRecentBackup")
    labels = {"alertname": fired["alert"], **fired["labels"]}
    payload = {
        "version": "4",
        "groupKey": '{}:{alertname="PilotOpsNoRecentBackup"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "pilotops-portal",
        "groupLabels": {"alertname": fired["alert"]},
        "commonLabels": labels,
        "commonAnnotations": fired["annotations"],
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": fired["annotations"],
                "startsAt": "2026-11-30T06:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": "b4c7u9a1e5f60718",
            }
        ],
    }

    response = client.post(
        "/webhooks/alertmanager/",
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
    )

    assert response.status_code == 200
    incident = Incident.objects.get()
    assert incident.severity == Severity.SEV2
    assert "No backup for over 24 hours" in incident.title
