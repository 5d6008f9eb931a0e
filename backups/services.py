"""Backups: make one, prove it by restoring it, restore it for real, keep what retention says.

Every verb works on the live database Django is connected to (in tests,
the test database) through the engine module for its vendor:
``backups.postgres`` (pg_dump and pg_restore) or ``backups.sqlite`` (the
online backup API and a file copy).
"""

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType

from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from backups import postgres, sqlite
from backups.archive import (
    BackupError,
    Manifest,
    app_version,
    backup_dir,
    backup_name,
    dump_find,
    dump_suffix,
    manifest_path,
    manifest_read,
    manifest_write,
    partial_path,
    publish,
    sha256_of,
)
from backups.models import Backup
from backups.snapshot import Snapshot
from core.leases import lease_held
from core.maintenance import LOCAL_ZONE

Progress = Callable[[str], None]

PRUNE_LEASE_SECONDS = 600
POSTGRES_NAME_LIMIT = 63


def _live() -> dict:
    """The settings of the database Django is connected to."""
    return connection.settings_dict


def _engine() -> ModuleType:
    if connection.vendor == "postgresql":
        return postgres
    if connection.vendor == "sqlite":
        return sqlite
    raise BackupError(f"Backups know PostgreSQL and SQLite, not {connection.vendor}.")


def _is_live(engine: ModuleType, target: str) -> bool:
    live = _live()["NAME"]
    if engine is sqlite:
        return Path(target).resolve() == Path(live).resolve()
    return target == live


def _scratch_target(engine: ModuleType, purpose: str) -> str:
    marker = f"{purpose}_{secrets.token_hex(4)}"
    if engine is sqlite:
        return str(backup_dir() / f".{marker}.sqlite3")
    return f"{_live()['NAME'][: POSTGRES_NAME_LIMIT - len(marker) - 1]}_{marker}"


# ------------------------------------------------------------------------------
# Making a backup
# ------------------------------------------------------------------------------
def backup_create(*, kind: str = Backup.Kind.BY_HAND, progress: Progress | None = None) -> Backup:
    """Dump the live database into BACKUP_DIR with its manifest, and record it."""
    engine = _engine()
    started_at = timezone.now()
    started = time.perf_counter()
    name = backup_name(engine=engine.ENGINE, at=started_at)
    final = backup_dir() / f"{name}{dump_suffix(engine.ENGINE)}"
    partial = partial_path(final)
    try:
        snapshot = engine.dump(database=_live(), path=partial, progress=progress)
        publish(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    duration = time.perf_counter() - started
    manifest = Manifest(
        name=name,
        engine=engine.ENGINE,
        file_name=final.name,
        taken_at=started_at.isoformat(),
        size_bytes=final.stat().st_size,
        sha256=sha256_of(final),
        app_version=app_version(),
        duration_seconds=round(duration, 3),
        migrations=snapshot.migrations,
        row_counts=snapshot.row_counts,
    )
    manifest_write(final, manifest)
    backup = Backup(
        name=name,
        kind=kind,
        engine=engine.ENGINE,
        file_name=final.name,
        taken_at=started_at,
        size_bytes=manifest.size_bytes,
        sha256=manifest.sha256,
        app_version=manifest.app_version[:100],
        duration_seconds=manifest.duration_seconds,
        migrations=manifest.migrations,
        row_counts=manifest.row_counts,
    )
    backup.full_clean()
    backup.save()
    return backup


# ------------------------------------------------------------------------------
# Proving a backup by restoring it
# ------------------------------------------------------------------------------
def _differences(expected: Snapshot | Manifest, restored: Snapshot) -> list[str]:
    problems = []
    for table, count in sorted(expected.row_counts.items()):
        found = restored.row_counts.get(table)
        if found is None:
            problems.append(f"table {table} is missing")
        elif found != count:
            problems.append(f"table {table} has {found} rows, the manifest says {count}")
    problems += [
        f"table {table} is not in the manifest"
        for table in sorted(set(restored.row_counts) - set(expected.row_counts))
    ]
    if list(restored.migrations) != list(expected.migrations):
        problems.append(
            f"the applied migrations differ ({len(restored.migrations)} restored, "
            f"{len(expected.migrations)} in the manifest)"
        )
    return problems


def _checksum_check(dump: Path, manifest: Manifest) -> None:
    found = sha256_of(dump)
    if found != manifest.sha256:
        raise BackupError(
            f"{dump.name} is corrupt: its SHA-256 is {found[:12]}…, the manifest says "
            f"{manifest.sha256[:12]}…. Do not restore it; use an older backup."
        )


def _migrations_unknown_to_code(restored: Snapshot) -> list[str]:
    """Migrations applied in the restored database that this code does not have."""
    known = {f"{app}.{name}" for app, name in MigrationLoader(None).disk_migrations}
    return [migration for migration in restored.migrations if migration not in known]


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    target: str
    database_url: str
    seconds: float
    snapshot: Snapshot


def _restore_checked(
    engine: ModuleType, dump: Path, manifest: Manifest, target: str, progress: Progress | None
) -> Restored:
    """Restore ``dump`` into the new ``target`` and compare it with the manifest.

    Raises BackupError on any difference, after dropping what it restored.
    """
    started = time.perf_counter()
    engine.restore(
        database=_live(),
        path=dump,
        target=target,
        jobs=settings.BACKUP_RESTORE_JOBS,
        progress=progress,
    )
    try:
        snapshot = engine.inspect(database=_live(), target=target)
        seconds = time.perf_counter() - started
        problems = _differences(manifest, snapshot)
        if problems:
            raise BackupError(
                f"The restore of {manifest.name} does not match its manifest: "
                + "; ".join(problems)
            )
    except BaseException:
        engine.drop(database=_live(), target=target)
        raise
    return Restored(
        manifest=manifest,
        target=target,
        database_url=engine.target_describe(database=_live(), target=target),
        seconds=seconds,
        snapshot=snapshot,
    )


def _backup_chosen(name: str | None) -> Backup:
    if name:
        backup = Backup.objects.filter(name=name).first()
        if backup is None:
            raise BackupError(f"No backup named {name!r} is recorded.")
        return backup
    backup = Backup.objects.filter(deleted_at__isnull=True).order_by("-taken_at").first()
    if backup is None:
        raise BackupError("There is no backup to verify yet: run backup_create first.")
    return backup


def backup_verify(
    *,
    name: str | None = None,
    drill: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> Backup:
    """Restore the newest (or named) backup into a scratch database, compare, drop it.

    Checks the checksum, every table's row count and the applied migrations
    against the manifest; the drill also checks that this code knows every
    migration the backup holds (it could run on it). The restore time and
    the age of the data are recorded on the backup. Raises BackupError with
    the reason when it fails; the failure is recorded too.
    """
    backup = _backup_chosen(name)
    engine = _engine()
    target = _scratch_target(engine, "drill" if drill else "verify")
    try:
        if backup.deleted_at is not None:
            raise BackupError(
                f"{backup.name} was deleted by retention on {backup.deleted_at:%Y-%m-%d}."
            )
        dump = dump_find(backup.name)
        manifest = manifest_read(dump)
        if manifest.sha256 != backup.sha256:
            raise BackupError(f"The manifest of {backup.name} does not match its record.")
        _checksum_check(dump, manifest)
        restored = _restore_checked(engine, dump, manifest, target, progress)
        if drill and (unknown := _migrations_unknown_to_code(restored.snapshot)):
            raise BackupError(
                "The restored database has migrations this code does not know: "
                + ", ".join(unknown)
            )
        if restored.seconds > settings.BACKUP_RTO_SECONDS:
            raise BackupError(
                f"The restore took {restored.seconds:.0f} s, longer than the RTO of "
                f"{settings.BACKUP_RTO_SECONDS} s."
            )
    except BackupError as error:
        _verification_record(backup, passed=False, error=str(error), now=now)
        raise
    finally:
        engine.drop(database=_live(), target=target)
    return _verification_record(backup, passed=True, seconds=restored.seconds, now=now)


def _verification_record(
    backup: Backup, *, passed: bool, error: str = "", seconds: float | None = None, now=None
) -> Backup:
    now = now or timezone.now()
    backup.verification = Backup.Verification.PASSED if passed else Backup.Verification.FAILED
    backup.verified_at = now
    backup.verify_error = error
    if seconds is not None:
        backup.restore_seconds = round(seconds, 3)
        backup.data_age_seconds = round((now - backup.taken_at).total_seconds(), 3)
    backup.save(
        update_fields=[
            "verification",
            "verified_at",
            "verify_error",
            "restore_seconds",
            "data_age_seconds",
            "updated_at",
        ]
    )
    return backup


def backup_file_verify(*, path: str, progress: Progress | None = None) -> Restored:
    """Verify a dump file by its manifest alone (a copy from another machine): no record needed."""
    engine = _engine()
    dump = dump_find(path)
    manifest = manifest_read(dump)
    _checksum_check(dump, manifest)
    target = _scratch_target(engine, "verify")
    try:
        return _restore_checked(engine, dump, manifest, target, progress)
    finally:
        engine.drop(database=_live(), target=target)


# ------------------------------------------------------------------------------
# Restoring for real
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RestoreResult:
    restored: Restored
    safety_backup: Backup | None
    live_database: str


def restore_default_target(name: str) -> str:
    engine = _engine()
    stamp = timezone.now().strftime("%Y%m%d%H%M")
    if engine is sqlite:
        return str(Path(_live()["NAME"]).with_name(f"pilotops-restored-{stamp}.sqlite3"))
    suffix = f"_restored_{stamp}"
    return f"{_live()['NAME'][: POSTGRES_NAME_LIMIT - len(suffix)]}{suffix}"


def backup_restore(
    *,
    name: str,
    target: str | None = None,
    replace: bool = False,
    progress: Progress | None = None,
) -> RestoreResult:
    """Restore the backup ``name`` into a new database (or file); never into the live one.

    ``replace`` is for a restore that will replace the live database: a
    safety backup of the live database is taken first, so what was written
    since the backup can still be found.
    """
    engine = _engine()
    dump = dump_find(name)
    manifest = manifest_read(dump)
    if manifest.engine != engine.ENGINE:
        raise BackupError(
            f"{manifest.name} is a {manifest.engine} backup; the live database is {engine.ENGINE}."
        )
    target = target or restore_default_target(manifest.name)
    if _is_live(engine, target):
        raise BackupError(
            f"{target!r} is the live database: a restore never overwrites it. Restore into a new "
            "database and switch DATABASE_URL to it (add --replace for a safety backup first)."
        )
    if engine.database_exists(database=_live(), target=target):
        raise BackupError(f"{target!r} exists already; a restore only makes new databases.")
    _checksum_check(dump, manifest)
    safety = backup_create(kind=Backup.Kind.SAFETY, progress=progress) if replace else None
    restored = _restore_checked(engine, dump, manifest, target, progress)
    return RestoreResult(
        restored=restored, safety_backup=safety, live_database=str(_live()["NAME"])
    )


# ------------------------------------------------------------------------------
# Retention
# ------------------------------------------------------------------------------
def backups_kept(backups: list[Backup], *, now: datetime) -> set[int]:
    """The ids retention keeps: the last day's, the newest of each of the last KEEP_DAILY
    days and KEEP_MONTHLY months (local time), and the newest verified one."""
    kept: set[int] = set()
    today = now.astimezone(LOCAL_ZONE).date()
    first_day = today - timedelta(days=settings.BACKUP_KEEP_DAILY - 1)
    month_index = today.year * 12 + today.month - 1
    first_month = month_index - (settings.BACKUP_KEEP_MONTHLY - 1)
    newest_of_day: dict = {}
    newest_of_month: dict = {}
    for backup in sorted(backups, key=lambda b: b.taken_at, reverse=True):
        if backup.taken_at >= now - timedelta(days=1):
            kept.add(backup.pk)
        local = backup.taken_at.astimezone(LOCAL_ZONE).date()
        if local >= first_day:
            newest_of_day.setdefault(local, backup.pk)
        if local.year * 12 + local.month - 1 >= first_month:
            newest_of_month.setdefault((local.year, local.month), backup.pk)
    kept |= set(newest_of_day.values()) | set(newest_of_month.values())
    verified = [b for b in backups if b.verification == Backup.Verification.PASSED]
    if verified:
        kept.add(max(verified, key=lambda b: b.taken_at).pk)
    return kept


def backups_prune(*, now: datetime | None = None) -> int:
    """Delete the files of backups retention no longer keeps; their rows stay, marked deleted."""
    now = now or timezone.now()
    with lease_held("backups:prune", seconds=PRUNE_LEASE_SECONDS) as lease:
        if lease is None:
            return 0
        backups = list(Backup.objects.filter(deleted_at__isnull=True))
        kept = backups_kept(backups, now=now)
        deleted = 0
        for backup in backups:
            if backup.pk in kept:
                continue
            dump = backup_dir() / backup.file_name
            dump.unlink(missing_ok=True)
            manifest_path(dump).unlink(missing_ok=True)
            deleted += Backup.objects.filter(pk=backup.pk, deleted_at__isnull=True).update(
                deleted_at=timezone.now()
            )
            lease.renew()
        return deleted
