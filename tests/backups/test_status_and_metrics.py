"""The backup's age and its last proven restore on /health/status/ and /metrics."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backups.models import Backup
from core.services import heartbeat_record, worker_heartbeat_record
from tests.backups.factories import backup_recorded
from tests.core.test_business_metrics import scrape, value

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _beat_and_a_worker():
    heartbeat_record()
    worker_heartbeat_record(hostname="celery@web-1")


def test_status_shows_the_backup_age_and_the_last_restore(client):
    now = timezone.now()
    backup_recorded(
        now - timedelta(hours=5),
        verification=Backup.Verification.PASSED,
        verified_at=now - timedelta(hours=1),
        restore_seconds=42.5,
    )

    body = client.get("/health/status/").json()

    assert body["status"] == "ok", body
    assert 5 * 3600 - 60 <= body["backup"]["age_seconds"] <= 5 * 3600 + 60
    assert body["backup"]["restore_seconds"] == 42.5
    assert body["backup"]["last_verification_failed"] is False
    assert body["backup"]["stale"] is False


def test_status_names_a_backup_older_than_a_day(client, settings):
    settings.BACKUP_MAX_AGE_SECONDS = 24 * 3600
    backup_recorded(timezone.now() - timedelta(hours=25))

    body = client.get("/health/status/").json()

    assert body["status"] == "attention"
    assert body["stale"] == ["backup"]
    assert body["backup"]["stale"] is True


def test_status_names_a_failed_verification(client):
    now = timezone.now()
    backup_recorded(
        now - timedelta(hours=2),
        verification=Backup.Verification.FAILED,
        verified_at=now,
        verify_error="corrupt",
    )

    body = client.get("/health/status/").json()

    assert body["stale"] == ["backup"]
    assert body["backup"]["last_verification_failed"] is True


def test_a_fresh_installation_without_a_backup_is_not_stale_yet(client):
    body = client.get("/health/status/").json()

    assert body["backup"]["last_taken_at"] is None
    assert "backup" not in body["stale"]


def test_metrics_export_backup_age_verification_and_restore_time(client):
    now = timezone.now()
    verified_at = now - timedelta(hours=3)
    backup_recorded(
        now - timedelta(hours=4),
        verification=Backup.Verification.PASSED,
        verified_at=verified_at,
        restore_seconds=90.0,
    )
    backup_recorded(now - timedelta(hours=2))

    samples = scrape(client)

    assert 2 * 3600 - 60 <= value(samples, "pilotops_backup_age_seconds") <= 2 * 3600 + 60
    assert value(samples, "pilotops_backup_verify_last_success_timestamp") == pytest.approx(
        verified_at.timestamp()
    )
    assert value(samples, "pilotops_restore_seconds") == 90.0
    assert value(samples, "pilotops_backup_verify_failed") == 0
