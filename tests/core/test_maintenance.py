"""Periodic work: the schedule, once-per-day runs across DST, records, and the jobs themselves."""

import datetime
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from core.maintenance import DAILY, JOBS, WEEKLY, job, run_job, run_key
from core.models import MaintenanceRun

pytestmark = pytest.mark.django_db
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def test_schedule_is_in_django_celery_beat_after_migrate(settings):
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        task = PeriodicTask.objects.get(name=name)
        assert task.task == entry["task"]
        schedule = entry["schedule"]
        if isinstance(schedule, float):
            assert task.interval.every == schedule
        else:
            assert task.crontab.minute == str(schedule._orig_minute)
            assert str(task.crontab.timezone) == "Europe/Stockholm"
    assert PeriodicTask.objects.get(name="support-sla-sweep").args == '["sla_sweep"]'
    assert set(JOBS) == {
        entry["args"][0] for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry.get("args")
    }


def test_schedule_sync_keeps_a_task_switched_off_in_the_admin():
    from core.schedule import beat_schedule_sync

    PeriodicTask.objects.filter(name="pilots-qr-audit").update(enabled=False)

    beat_schedule_sync()

    assert not PeriodicTask.objects.get(name="pilots-qr-audit").enabled


@pytest.mark.parametrize(
    "days",
    [
        ("2027-03-27", "2027-03-28", "2027-03-29"),  # spring forward: 02:00 does not exist
        ("2026-10-24", "2026-10-25", "2026-10-26"),  # fall back: 02:00 happens twice
    ],
)
def test_daily_job_runs_exactly_once_per_local_date_across_dst(days):
    ran: list[datetime.datetime] = []
    job("test_daily", DAILY)(lambda now: ran.append(now) or "ran")
    start = datetime.datetime.fromisoformat(days[0]).replace(tzinfo=STOCKHOLM).astimezone(UTC)
    end = datetime.datetime.fromisoformat(days[-1]).replace(tzinfo=STOCKHOLM).astimezone(UTC)

    instant = start
    while instant < end + timedelta(days=1):
        for minute in (0, 5, 30):  # beat may fire more than once an hour
            run_job("test_daily", now=instant + timedelta(minutes=minute))
        instant += timedelta(hours=1)

    local_dates = [moment.astimezone(STOCKHOLM).date().isoformat() for moment in ran]
    assert local_dates == list(days)
    assert all(moment.astimezone(STOCKHOLM).hour >= 2 for moment in ran)
    assert MaintenanceRun.objects.filter(job="test_daily").count() == 3
    del JOBS["test_daily"]


def test_weekly_job_is_due_on_sunday_from_two_once_a_week():
    sunday_morning = datetime.datetime(2026, 11, 29, 1, 30, tzinfo=STOCKHOLM)

    assert run_key(WEEKLY, sunday_morning) is None
    assert run_key(WEEKLY, sunday_morning + timedelta(hours=1)) == "2026-W48"
    assert run_key(WEEKLY, sunday_morning + timedelta(days=1)) is None


def test_a_failed_run_is_recorded_and_tried_again():
    calls = []

    def flaky(now):
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return "fine"

    job("test_flaky", DAILY)(flaky)
    noon = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=STOCKHOLM)
    with pytest.raises(RuntimeError):
        run_job("test_flaky", now=noon)
    record = MaintenanceRun.objects.get(job="test_flaky")
    assert record.outcome == "error" and "database went away" in record.error

    retried = run_job("test_flaky", now=noon + timedelta(hours=1))

    record.refresh_from_db()
    assert record.outcome == "error", "the failure stays on record"
    assert (retried.outcome, retried.summary, retried.run_key) == ("ok", "fine", "2026-11-23")
    assert run_job("test_flaky", now=noon + timedelta(hours=2)) is None
    assert len(calls) == 2
    del JOBS["test_flaky"]


def test_run_maintenance_command_runs_a_job_for_a_date(make_business):
    out = __import__("io").StringIO()

    call_command("run_maintenance", "qr_audit", "--date", "2026-11-22", stdout=out)

    assert out.getvalue().startswith("qr_audit:")
    assert MaintenanceRun.objects.filter(job="qr_audit", outcome="ok").exists()


def test_status_and_metrics_report_the_last_successful_runs(client):
    from core.metrics import business_gauges

    run_job("tickets_auto_close", key="test")
    business_gauges.forget()

    status = client.get("/health/status/").json()
    metrics = client.get("/metrics").content.decode()

    assert "tickets_auto_close" in status["last_success_by_job"]
    assert (
        'pilotops_job_last_success_timestamp{cadence="weekly",job="tickets_auto_close"}' in metrics
    )


def test_job_enqueue_records_a_queued_run_that_the_worker_task_runs_once(
    django_user_model, django_capture_on_commit_callbacks
):
    from core.maintenance import job_enqueue
    from core.tasks import maintenance_queued

    ran: list[datetime.datetime] = []
    job("test_enqueued", WEEKLY)(lambda now: ran.append(now) or "did it")
    manager = django_user_model.objects.create_user("manager")
    queued = []
    with django_capture_on_commit_callbacks() as callbacks:
        record = job_enqueue("test_enqueued", requested_by=manager)
    assert record.outcome == MaintenanceRun.Outcome.QUEUED
    assert record.requested_by == manager
    assert len(callbacks) == 1, "the task is sent once the run record is committed"

    queued.append(maintenance_queued(record.pk))
    queued.append(maintenance_queued(record.pk))  # a redelivered task

    record.refresh_from_db()
    assert record.outcome == MaintenanceRun.Outcome.OK
    assert record.summary == "did it"
    assert len(ran) == 1, "a weekly job asked for on a weekday still runs, once"
    assert queued == [
        "test_enqueued: did it",
        f"run {record.pk}: done already, or running on another worker",
    ]
