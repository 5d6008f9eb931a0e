"""Read paths of backups: how old the newest one is and what its last restore showed."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from backups.models import Backup
from core.selectors import StatusPart


@dataclass(frozen=True)
class BackupState:
    last_taken_at: datetime | None
    age_seconds: float | None
    last_verified_at: datetime | None  # the last verification that passed
    last_verification_failed: bool
    restore_seconds: float | None  # of the last restore that passed: the measured RTO
    stale: bool


def _installed_at() -> datetime | None:
    return (
        MigrationRecorder.Migration.objects.order_by("applied")
        .values_list("applied", flat=True)
        .first()
    )


def backup_state(*, now: datetime | None = None) -> BackupState:
    """Stale when the newest backup is older than BACKUP_MAX_AGE_SECONDS (or there is none on
    an installation older than that), or when the last verification failed."""
    now = now or timezone.now()
    newest = Backup.objects.order_by("-taken_at").only("taken_at").first()
    verified = (
        Backup.objects.filter(verification=Backup.Verification.PASSED)
        .order_by("-verified_at")
        .only("verified_at", "restore_seconds")
        .first()
    )
    last_checked = (
        Backup.objects.filter(verified_at__isnull=False)
        .order_by("-verified_at")
        .only("verification")
        .first()
    )
    failed = last_checked is not None and last_checked.verification == Backup.Verification.FAILED
    max_age = settings.BACKUP_MAX_AGE_SECONDS
    if newest is None:
        installed = _installed_at()
        age = None
        too_old = installed is not None and (now - installed).total_seconds() > max_age
    else:
        age = (now - newest.taken_at).total_seconds()
        too_old = age > max_age
    return BackupState(
        last_taken_at=newest.taken_at if newest else None,
        age_seconds=age,
        last_verified_at=verified.verified_at if verified else None,
        last_verification_failed=failed,
        restore_seconds=verified.restore_seconds if verified else None,
        stale=too_old or failed,
    )


def backup_status_part(now: datetime) -> StatusPart:
    """The backup block of /health/status/: stale when the newest backup is too old or the
    last verification failed."""
    state = backup_state(now=now)
    return StatusPart(
        stale=state.stale,
        detail={
            "last_taken_at": _iso(state.last_taken_at),
            "age_seconds": None if state.age_seconds is None else round(state.age_seconds),
            "max_age_seconds": settings.BACKUP_MAX_AGE_SECONDS,
            "last_verified_at": _iso(state.last_verified_at),
            "last_verification_failed": state.last_verification_failed,
            "restore_seconds": state.restore_seconds,
            "stale": state.stale,
        },
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def backup_gauges(now: datetime) -> list:
    """The backup gauges for /metrics, read from the database at scrape time."""
    from prometheus_client.core import GaugeMetricFamily

    state = backup_state(now=now)
    families = []
    if state.age_seconds is not None:
        age = GaugeMetricFamily(
            "pilotops_backup_age_seconds", "Seconds since the newest backup's data was taken."
        )
        age.add_metric([], state.age_seconds)
        families.append(age)
    if state.last_verified_at is not None:
        verified = GaugeMetricFamily(
            "pilotops_backup_verify_last_success_timestamp",
            "When a backup was last proven by restoring it (Unix time).",
        )
        verified.add_metric([], state.last_verified_at.timestamp())
        restore = GaugeMetricFamily(
            "pilotops_restore_seconds",
            "How long the last successful restore of a backup took: the measured RTO.",
        )
        restore.add_metric([], state.restore_seconds or 0)
        families += [verified, restore]
    failed = GaugeMetricFamily(
        "pilotops_backup_verify_failed", "1 when the last verification or restore drill failed."
    )
    failed.add_metric([], 1 if state.last_verification_failed else 0)
    return [*families, failed]
