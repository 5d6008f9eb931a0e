"""Back up, lose a table, restore into a new database: every table as the manifest counts it."""

import json
import secrets
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from backups import postgres, sqlite
from backups.archive import BackupError, manifest_path
from backups.models import Backup
from backups.services import backup_create, backup_restore, backup_verify
from core.leases import lease_acquire
from tests.backups.conftest import POSTGRES, feedback_bulk_create, postgres_only

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

sqlite_only = pytest.mark.skipif(POSTGRES, reason="the embedded SQLite database only")
ENGINE = postgres if POSTGRES else sqlite


class RolledBack(Exception):
    """Raised to undo the dropped table in the live test database."""


@pytest.fixture
def new_database(tmp_path):
    """The name (PostgreSQL) or path (SQLite) of a database that does not exist yet."""
    if POSTGRES:
        target = f"{connection.settings_dict['NAME']}_new_{secrets.token_hex(3)}"
    else:
        target = str(tmp_path / "restored.sqlite3")
    yield target
    ENGINE.drop(database=connection.settings_dict, target=target)


def lease_renewed(line: str) -> None:
    """What a scheduled run does on every progress line: a write to the live database."""
    lease_acquire(name="backups:test", holder="round-trip", seconds=60)


def round_trip(code, feedback: int, new_database: str) -> None:
    feedback_bulk_create(code, feedback)
    backup = backup_create(progress=lease_renewed)  # writes while it dumps: it still finishes
    manifest = json.loads(manifest_path(backup_dir_of(backup)).read_text())
    assert manifest["row_counts"]["pilots_feedback"] == feedback
    assert manifest["row_counts"] == backup.row_counts
    assert manifest["sha256"] == backup.sha256
    assert "pilots.0001_initial" in manifest["migrations"]

    with pytest.raises(RolledBack), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE pilots_feedback" + (" CASCADE" if POSTGRES else ""))
        assert "pilots_feedback" not in connection.introspection.table_names()
        result = backup_restore(name=backup.name, target=new_database)
        raise RolledBack

    restored = ENGINE.inspect(database=connection.settings_dict, target=new_database)
    assert restored.row_counts == manifest["row_counts"]
    assert restored.row_counts["pilots_feedback"] == feedback
    assert restored.migrations == manifest["migrations"]
    assert result.restored.target == new_database


def backup_dir_of(backup: Backup):
    from backups.archive import backup_dir

    return backup_dir() / backup.file_name


@postgres_only
def test_postgres_round_trip_of_100000_feedback_rows(open_code, new_database):
    round_trip(open_code, 100_000, new_database)


@sqlite_only
def test_sqlite_round_trip(open_code, new_database):
    round_trip(open_code, 20_000, new_database)


def test_corrupted_backup_fails_verification_with_a_clear_message(open_code):
    feedback_bulk_create(open_code, 500)
    backup = backup_create()
    dump = backup_dir_of(backup)
    damaged = bytearray(dump.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    dump.write_bytes(bytes(damaged))

    with pytest.raises(BackupError, match=r"is corrupt: its SHA-256 is .* the manifest says"):
        backup_verify()
    backup.refresh_from_db()
    assert backup.verification == Backup.Verification.FAILED
    assert "Do not restore it" in backup.verify_error
    with pytest.raises(CommandError, match=r"Verification failed: .* is corrupt"):
        call_command("backup_verify", backup.name)


def test_damaged_dump_with_a_matching_checksum_still_fails_when_restored(open_code):
    """Checksum and manifest rewritten after damage: the restore itself must catch it."""
    from backups.archive import sha256_of

    backup = backup_create()
    dump = backup_dir_of(backup)
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 3])
    manifest_file = manifest_path(dump)
    manifest = json.loads(manifest_file.read_text())
    manifest["sha256"] = sha256_of(dump)
    manifest_file.write_text(json.dumps(manifest))
    Backup.objects.filter(pk=backup.pk).update(sha256=manifest["sha256"])

    with pytest.raises(BackupError) as failure:
        backup_verify()
    message = str(failure.value)
    assert ("pg_restore failed" in message) if POSTGRES else ("SQLite" in message), message
    assert Backup.objects.get(pk=backup.pk).verification == Backup.Verification.FAILED


def test_verify_records_the_restore_time_and_the_age_of_the_data(open_code):
    feedback_bulk_create(open_code, 200)
    backup = backup_create()

    out = StringIO()
    call_command("backup_verify", stdout=out)

    backup.refresh_from_db()
    assert backup.verification == Backup.Verification.PASSED
    assert backup.restore_seconds > 0
    assert backup.data_age_seconds >= 0
    assert "match the manifest" in out.getvalue()
    assert "restore time (RTO at this size)" in out.getvalue()
    # The scratch database is gone again.
    if POSTGRES:
        with connection.cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", ["%_verify_%"])
            assert cursor.fetchall() == []
    else:
        assert not list(backup_dir_of(backup).parent.glob(".verify_*"))


def test_restore_refuses_to_overwrite_the_live_database(open_code):
    backup = backup_create()
    live = connection.settings_dict["NAME"]

    with pytest.raises(CommandError, match="is the live database: a restore never overwrites it"):
        call_command("restore", backup.name, "--database", str(live))
    assert Backup.objects.filter(kind=Backup.Kind.SAFETY).count() == 0


def test_restore_refuses_a_database_that_exists(open_code, new_database):
    backup = backup_create()
    backup_restore(name=backup.name, target=new_database)

    with pytest.raises(BackupError, match="exists already"):
        backup_restore(name=backup.name, target=new_database)
    assert ENGINE.database_exists(database=connection.settings_dict, target=new_database)


def test_restore_to_replace_takes_a_safety_backup_first_and_prints_the_switch(
    open_code, new_database
):
    backup = backup_create()
    feedback_bulk_create(open_code, 30)  # written after the backup: the safety backup has it
    out = StringIO()

    call_command("restore", backup.name, "--database", new_database, "--replace", stdout=out)

    safety = Backup.objects.get(kind=Backup.Kind.SAFETY)
    assert safety.row_counts["pilots_feedback"] == 30
    assert backup.row_counts["pilots_feedback"] == 0
    printed = out.getvalue()
    assert f"Safety backup of the live database: {safety.name}" in printed
    assert "DATABASE_URL=" in printed and new_database.split("/")[-1] in printed
    assert "python manage.py migrate" in printed
    restored = ENGINE.inspect(database=connection.settings_dict, target=new_database)
    assert restored.row_counts["pilots_feedback"] == 0


def test_a_copied_dump_verifies_by_its_manifest_alone(open_code, tmp_path):
    """A backup copied off the machine is proven without the database's record of it."""
    import shutil

    backup = backup_create()
    dump = backup_dir_of(backup)
    copy_dir = tmp_path / "offsite"
    copy_dir.mkdir()
    shutil.copy(dump, copy_dir)
    shutil.copy(manifest_path(dump), copy_dir)
    Backup.objects.all().delete()
    out = StringIO()

    call_command("backup_verify", "--file", str(copy_dir / dump.name), stdout=out)

    assert f"{backup.name} verified" in out.getvalue()
    assert "tables match the manifest" in out.getvalue()
