"""Backups' periodic jobs (see core.maintenance for cadences, leases and run records)."""

from datetime import datetime

from backups import services
from backups.models import Backup
from core.maintenance import DAILY, EVERY_6_HOURS, WEEKLY, checkpoint, job


def _lease_kept(line: str) -> None:
    """A dump or restore's progress renews the run's lease, so a long one is not taken over."""
    checkpoint()


@job("backup", EVERY_6_HOURS)
def backup(now: datetime):
    """A backup of the database, then retention (30 daily, 12 monthly, newest verified kept)."""
    made = services.backup_create(kind=Backup.Kind.SCHEDULED, progress=_lease_kept)
    deleted = services.backups_prune(now=now)
    return f"{made.name} written ({made.size_bytes} bytes); {deleted} old backup(s) deleted"


@job("backup_verify", DAILY)
def backup_verify(now: datetime):
    """The newest backup restored into a scratch database and compared with its manifest."""
    if not Backup.objects.filter(deleted_at__isnull=True).exists():
        return "no backup to verify yet"
    verified = services.backup_verify(progress=_lease_kept)
    return f"{verified.name} verified: restored in {verified.restore_seconds:.1f} s"


@job("restore_drill", WEEKLY)
def restore_drill(now: datetime):
    """A full restore of the newest backup, checked against its manifest and this code."""
    if not Backup.objects.filter(deleted_at__isnull=True).exists():
        return "no backup to restore yet"
    drilled = services.backup_verify(drill=True, progress=_lease_kept)
    return f"{drilled.name} restored in {drilled.restore_seconds:.1f} s (restore drill)"
