"""Safe releases: release_check's flags and gates, and deploy/release's rollback steps."""

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import migrations, models
from django.utils import timezone

from backups.models import Backup
from backups.release import DESTRUCTIVE, REVIEW, UNSAFE, operation_flag
from core.models import Event
from core.services import heartbeat_record, worker_heartbeat_record
from pilots.models import IntakeSwitch
from tests.backups.factories import backup_recorded
from tests.celery_processes import worker_database_url
from tests.conftest import PROJECT_DIR


def level(operation, new_models=frozenset()) -> str | None:
    flag = operation_flag(operation, new_models=set(new_models))
    return flag.level if flag else None


def test_release_check_flags_operations_that_hurt_a_live_database():
    assert level(migrations.RemoveField("feedback", "comment")) == DESTRUCTIVE
    assert level(migrations.DeleteModel("ScanCount")) == DESTRUCTIVE
    assert level(migrations.RenameField("feedback", "comment", "text")) == UNSAFE
    not_null = models.CharField(max_length=5, default="sv")
    assert level(migrations.AddField("feedback", "dialect", not_null)) == UNSAFE
    index = models.Index(fields=["rating"], name="feedback_rating")
    assert level(migrations.AddIndex("feedback", index)) == UNSAFE
    assert level(migrations.AlterField("feedback", "rating", models.IntegerField())) == UNSAFE
    assert level(migrations.RunSQL("UPDATE pilots_feedback SET rating = 1")) == REVIEW
    assert level(migrations.RunPython(lambda apps, schema_editor: None)) == REVIEW


def test_release_check_lets_safe_operations_through():
    nullable = models.CharField(max_length=5, null=True)
    assert level(migrations.AddField("feedback", "dialect", nullable)) is None
    filled = models.CharField(max_length=5, db_default="sv")
    assert level(migrations.AddField("feedback", "dialect", filled)) is None
    index = models.Index(fields=["rating"], name="survey_rating")
    assert level(migrations.AddIndex("survey", index), new_models={"survey"}) is None
    assert (
        level(migrations.CreateModel("Survey", [("id", models.AutoField(primary_key=True))]))
        is None
    )
    assert level(migrations.RunPython(print, migrations.RunPython.noop)) is None


@pytest.mark.django_db
def test_release_check_refuses_without_a_verified_backup_from_the_last_hour():
    heartbeat_record()
    worker_heartbeat_record(hostname="celery@web-1")
    backup_recorded(
        timezone.now() - timedelta(hours=2),
        file=True,
        verification=Backup.Verification.PASSED,
        verified_at=timezone.now(),
        restore_seconds=3.0,
    )

    with pytest.raises(CommandError, match="no verified backup from the last hour"):
        call_command("release_check", stdout=StringIO())


@pytest.mark.django_db
def test_release_check_passes_with_a_fresh_verified_backup_and_green_health():
    heartbeat_record()
    worker_heartbeat_record(hostname="celery@web-1")
    backup = backup_recorded(
        timezone.now() - timedelta(minutes=10),
        file=True,
        verification=Backup.Verification.PASSED,
        verified_at=timezone.now(),
        restore_seconds=3.0,
    )
    out = StringIO()

    call_command("release_check", stdout=out)

    printed = out.getvalue()
    assert "Unapplied migrations: none." in printed
    assert f"Verified backup: {backup.name}" in printed
    assert "Health: green." in printed
    assert "Destructive migrations: no" in printed
    assert "Ready to release." in printed


@pytest.mark.django_db
def test_release_check_refuses_when_health_is_not_green():
    backup_recorded(
        timezone.now(), file=True, verification=Backup.Verification.PASSED, restore_seconds=1.0
    )

    with pytest.raises(CommandError, match="health is not green: scheduler, workers"):
        call_command("release_check", stdout=StringIO())


def release(backup_dir, **env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DATABASE_URL": worker_database_url(), **env}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    environment.update(
        MANAGE=f"{sys.executable} manage.py",
        RESTART="true",
        PREVIOUS_IMAGE="pilotops:previous",
        SMOKE_TRIES="1",
        BACKUP_DIR=str(backup_dir),
        PROBE_BASE_URL="http://127.0.0.1:9",  # nothing answers: the journey fails
        PROBE_TIMEOUT_SECONDS="2",
    )
    return subprocess.run(
        [str(PROJECT_DIR / "deploy" / "release")],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_release_whose_smoke_fails_prints_the_rollback_steps(backup_dir, open_code):
    heartbeat_record()
    worker_heartbeat_record(hostname="celery@web-1")

    finished = release(backup_dir)

    output = finished.stdout + finished.stderr
    assert finished.returncode == 1, output
    for step in ("==> backup", "==> release check", "==> migrate", "==> smoke"):
        assert step in output
    assert "Synthetic journey: failed" in output
    assert "RELEASE FAILED at: smoke" in output
    assert "Run the previous image again for web, workers and beat: pilotops:previous" in output
    assert "not destructive" in output
    backup = Backup.objects.get()
    assert backup.verification == Backup.Verification.PASSED
    assert f"restore {backup.name} --replace" in output
    banner = list(
        Event.objects.filter(action__startswith="intake_")
        .order_by("pk")
        .values_list("action", "data")
    )
    assert [action for action, _ in banner] == ["intake_closed", "intake_open"]
    assert "Pilot Ops uppdateras" in banner[0][1]["message"]
    assert IntakeSwitch.objects.get().is_open


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_release_stops_before_migrating_when_the_check_fails(backup_dir, open_code):
    heartbeat_record()  # no worker alive: health is not green

    finished = release(backup_dir)

    output = finished.stdout + finished.stderr
    assert finished.returncode == 1, output
    assert "RELEASE FAILED at: release check" in output
    assert "Nothing in the database was changed by this release." in output
    assert "==> migrate" not in output
    assert not IntakeSwitch.objects.filter(is_open=False).exists()
