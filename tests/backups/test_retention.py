"""Retention: the last day, one a day for 30 days, one a month for 12, the newest verified."""

from datetime import UTC, datetime, timedelta

import pytest

from backups.archive import backup_dir
from backups.models import Backup
from backups.services import backups_kept, backups_prune

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def backups_every_6_hours(days: int, *, verified_at: set[datetime] = frozenset()) -> list[Backup]:
    rows = []
    for n in range(days * 4):
        taken_at = NOW - timedelta(hours=6 * n)
        name = f"pilotops-sqlite-{taken_at:%Y%m%dT%H%M%S}"
        (backup_dir() / f"{name}.sqlite3").write_bytes(b"dump")
        (backup_dir() / f"{name}.manifest.json").write_text("{}")
        rows.append(
            Backup(
                name=name,
                engine="sqlite",
                file_name=f"{name}.sqlite3",
                taken_at=taken_at,
                size_bytes=4,
                sha256="0" * 64,
                duration_seconds=0.1,
                verification=Backup.Verification.PASSED
                if taken_at in verified_at
                else Backup.Verification.NOT_VERIFIED,
            )
        )
    return Backup.objects.bulk_create(rows)


def test_retention_keeps_the_last_day_30_daily_and_12_monthly(settings):
    settings.BACKUP_KEEP_DAILY = 30
    settings.BACKUP_KEEP_MONTHLY = 12
    backups_every_6_hours(500)

    deleted = backups_prune(now=NOW)

    left = list(Backup.objects.filter(deleted_at__isnull=True).order_by("-taken_at"))
    assert deleted == 500 * 4 - len(left)
    taken = [backup.taken_at for backup in left]
    assert all(NOW - timedelta(hours=h) in taken for h in (0, 6, 12, 18)), "the last day stays"
    days = {moment.date() for moment in taken if moment >= NOW - timedelta(days=30)}
    assert len(days) == 30
    months = {(moment.year, moment.month) for moment in taken}
    assert len(months) == 12
    assert min(taken) >= datetime(2025, 7, 1, tzinfo=UTC)
    # Files go with retention; the rows stay, marked deleted.
    files = {path.name for path in backup_dir().glob("*.sqlite3")}
    assert files == {backup.file_name for backup in left}
    last_day = NOW - timedelta(days=1)
    assert not Backup.objects.filter(deleted_at__isnull=False, taken_at__gte=last_day)
    assert len(list(backup_dir().glob("*.manifest.json"))) == len(left)


def test_retention_never_deletes_the_newest_verified_backup(settings):
    settings.BACKUP_KEEP_DAILY = 3
    settings.BACKUP_KEEP_MONTHLY = 1
    verified = NOW - timedelta(days=40, hours=6)  # not the newest of its day or month
    backups_every_6_hours(60, verified_at={verified, NOW - timedelta(days=50)})

    backups_prune(now=NOW)

    newest_verified = Backup.objects.get(taken_at=verified)
    assert newest_verified.deleted_at is None
    assert (backup_dir() / newest_verified.file_name).exists()
    assert Backup.objects.get(taken_at=NOW - timedelta(days=50)).deleted_at is not None


def test_retention_keeps_every_backup_of_the_last_day(settings):
    backups = backups_every_6_hours(1)

    assert backups_kept(backups, now=NOW) == {backup.pk for backup in backups}
    assert backups_prune(now=NOW) == 0
