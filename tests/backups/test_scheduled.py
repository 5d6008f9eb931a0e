"""The scheduled backup jobs: recorded maintenance runs that never write over each other."""

import json
from datetime import UTC, datetime

import pytest
from django.db import connection

from backups.archive import sha256_of
from backups.models import Backup
from core.maintenance import EVERY_6_HOURS, JOBS, run_job, run_key
from core.models import MaintenanceRun
from tests.twin_processes import twins_run

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

AT = datetime(2026, 11, 30, 7, 30, tzinfo=UTC)


def test_backup_is_due_every_6_hours_and_verification_daily_and_drill_weekly():
    assert JOBS["backup"].cadence == EVERY_6_HOURS
    assert JOBS["backup_verify"].cadence == "daily"
    assert JOBS["restore_drill"].cadence == "weekly"
    assert run_key(EVERY_6_HOURS, AT) == "2026-11-30T06Z"
    assert run_key(EVERY_6_HOURS, AT.replace(hour=11, minute=59)) == "2026-11-30T06Z"
    assert run_key(EVERY_6_HOURS, AT.replace(hour=12)) == "2026-11-30T12Z"


def test_backup_verify_and_drill_jobs_record_their_runs(open_code):
    backed_up = run_job("backup", now=AT)
    verified = run_job("backup_verify", now=AT)
    drilled = run_job("restore_drill", now=datetime(2026, 11, 29, 3, 0, tzinfo=UTC))  # Sunday

    assert backed_up.outcome == MaintenanceRun.Outcome.OK
    backup = Backup.objects.get()
    assert backup.kind == Backup.Kind.SCHEDULED
    assert backup.name in backed_up.summary
    assert "verified: restored in" in verified.summary
    assert "(restore drill)" in drilled.summary
    backup.refresh_from_db()
    assert backup.verification == Backup.Verification.PASSED
    assert run_job("backup", now=AT) is None, "the period is done"


def test_verify_and_drill_jobs_wait_for_the_first_backup_without_failing():
    verified = run_job("backup_verify", now=AT)
    drilled = run_job("restore_drill", now=datetime(2026, 11, 29, 3, 0, tzinfo=UTC))

    assert (verified.outcome, verified.summary) == ("ok", "no backup to verify yet")
    assert (drilled.outcome, drilled.summary) == ("ok", "no backup to restore yet")


def test_verify_job_fails_its_run_when_the_backup_is_corrupt(settings, open_code):
    run_job("backup", now=AT)
    dump = settings.BACKUP_DIR / Backup.objects.get().file_name
    dump.write_bytes(dump.read_bytes()[:-10] + b"0123456789")

    with pytest.raises(Exception, match="is corrupt"):
        run_job("backup_verify", now=AT)

    run = MaintenanceRun.objects.get(job="backup_verify")
    assert run.outcome == MaintenanceRun.Outcome.ERROR
    assert "is corrupt" in run.error


SCHEDULED = """
from datetime import UTC, datetime
from core.maintenance import run_job
record = run_job("backup", now=datetime(2026, 11, 30, 7, 30, tzinfo=UTC))
print("RAN" if record else "SKIPPED")
"""

BY_HAND = """
from backups.services import backup_create
print("MADE", backup_create().name)
"""


def test_two_scheduled_runs_at_once_write_one_backup(backup_dir, open_code):
    finished = twins_run(SCHEDULED, env={"BACKUP_DIR": str(backup_dir)})

    assert all(twin.returncode == 0 for twin in finished), [t.stderr[-2000:] for t in finished]
    assert sorted(twin.stdout.strip().split()[-1] for twin in finished) == ["RAN", "SKIPPED"]
    backup = Backup.objects.get()
    assert sorted(path.name for path in backup_dir.iterdir()) == sorted(
        [backup.file_name, backup.name + ".manifest.json"]
    )
    assert MaintenanceRun.objects.filter(job="backup", outcome="ok").count() == 1


def test_two_backups_by_hand_at_once_never_write_over_each_other(backup_dir, open_code):
    finished = twins_run(BY_HAND, env={"BACKUP_DIR": str(backup_dir)})

    assert all(twin.returncode == 0 for twin in finished), [t.stderr[-2000:] for t in finished]
    backups = list(Backup.objects.all())
    assert len(backups) == 2 and backups[0].name != backups[1].name
    for backup in backups:
        dump = backup_dir / backup.file_name
        manifest = json.loads((backup_dir / f"{backup.name}.manifest.json").read_text())
        assert sha256_of(dump) == backup.sha256 == manifest["sha256"]
    assert not list(backup_dir.glob("*.partial"))
    assert {backup.engine for backup in backups} == {
        "postgresql" if connection.vendor == "postgresql" else "sqlite"
    }
