"""Periodic runs hold a lease: twins share a period, a dead worker's run is taken over."""

import datetime
import io
import subprocess
import sys
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.leases import PROCESS_SPACE
from core.maintenance import (
    DAILY,
    EVERY_5_MINUTES,
    EVERY_MINUTE,
    HOURLY,
    JOBS,
    checkpoint,
    job,
    run_job,
    run_key,
    step_once,
)
from core.models import Lease, MaintenanceRun, MaintenanceStep, Message
from core.tasks import maintenance_queued

pytestmark = pytest.mark.django_db
STOCKHOLM = ZoneInfo("Europe/Stockholm")
NOON = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=STOCKHOLM)
KEY = "2026-11-23"


@pytest.fixture
def register():
    """Register test jobs; forget them afterwards."""
    names = []

    def add(name: str, cadence: str, run):
        job(name, cadence)(run)
        names.append(name)

    yield add
    for name in names:
        del JOBS[name]


def subjects_job(done: list[str], subjects=("a", "b", "c", "d")):
    """A job idempotent per subject: it does only the subjects not done yet."""

    def run(now):
        did = 0
        for subject in subjects:
            checkpoint()
            if subject not in done:
                done.append(subject)
                did += 1
        return f"{did} done"

    return run


def dead_run(name: str, *, holder: str, expires_in: timedelta) -> MaintenanceRun:
    """What a worker leaves when it is killed mid-run: a running record and its lease."""
    lease = f"maintenance:{name}:{KEY}"
    now = timezone.now()
    Lease.objects.create(
        name=lease,
        holder=holder,
        acquired_at=now - timedelta(minutes=1),
        expires_at=now + expires_in,
    )
    return MaintenanceRun.objects.create(job=name, run_key=KEY, lease=lease, started_at=now)


def test_a_trigger_while_the_period_runs_elsewhere_does_nothing(register):
    triggered_meanwhile = []

    def work(now):
        triggered_meanwhile.append(run_job("test_twin", now=now + timedelta(hours=1)))
        return "worked"

    register("test_twin", DAILY, work)

    record = run_job("test_twin", now=NOON)

    assert (record.outcome, record.summary) == ("ok", "worked")
    assert triggered_meanwhile == [None]
    assert MaintenanceRun.objects.filter(job="test_twin").count() == 1
    assert run_job("test_twin", now=NOON + timedelta(hours=2)) is None, "the day is done"


def test_a_run_whose_lease_lapsed_is_abandoned_and_the_next_trigger_does_what_is_left(register):
    done = ["a", "b"]  # the killed worker got this far
    register("test_takeover", DAILY, subjects_job(done))
    killed = dead_run("test_takeover", holder="other-host:x:4242:abc", expires_in=-timedelta(1))

    record = run_job("test_takeover", now=NOON + timedelta(hours=1))

    killed.refresh_from_db()
    assert killed.outcome == MaintenanceRun.Outcome.ABANDONED
    assert killed.finished_at is not None and "lease" in killed.error
    assert (record.outcome, record.summary, record.run_key) == ("ok", "2 done", KEY)
    assert done == ["a", "b", "c", "d"], "each subject exactly once"
    assert run_job("test_takeover", now=NOON + timedelta(hours=2)) is None


def test_a_run_whose_worker_still_renews_is_left_alone(register):
    done = []
    register("test_alive", DAILY, subjects_job(done))
    alive = dead_run("test_alive", holder="other-host:x:4242:abc", expires_in=timedelta(minutes=5))

    assert run_job("test_alive", now=NOON + timedelta(hours=1)) is None

    alive.refresh_from_db()
    assert alive.outcome == MaintenanceRun.Outcome.RUNNING
    assert done == []


def test_a_run_whose_worker_died_on_this_machine_is_taken_over_at_once(register):
    done = []
    register("test_dead_here", DAILY, subjects_job(done))
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(finished.stdout)
    killed = dead_run(
        "test_dead_here",
        holder=f"this-host:{PROCESS_SPACE}:{dead_pid}:abc",
        expires_in=timedelta(minutes=10),
    )

    record = run_job("test_dead_here", now=NOON + timedelta(hours=1))

    killed.refresh_from_db()
    assert killed.outcome == MaintenanceRun.Outcome.ABANDONED
    assert record.outcome == "ok" and done == ["a", "b", "c", "d"]


def test_a_run_that_lost_its_lease_stops_at_the_next_checkpoint_and_records_nothing(register):
    done = []

    def work(now):
        done.append("first")
        # Meanwhile another worker judged this one dead and took the period over.
        Lease.objects.filter(name=f"maintenance:test_lost:{KEY}").update(
            holder="other-host:x:1:new", expires_at=timezone.now() + timedelta(minutes=10)
        )
        checkpoint()
        done.append("second")
        return "finished"

    register("test_lost", DAILY, work)

    assert run_job("test_lost", now=NOON) is None

    assert done == ["first"]
    record = MaintenanceRun.objects.get(job="test_lost")
    assert record.outcome == MaintenanceRun.Outcome.RUNNING, "left for the run that took over"
    assert Lease.objects.get(name=f"maintenance:test_lost:{KEY}").holder == "other-host:x:1:new"


def test_the_next_run_of_a_job_closes_runs_of_past_periods_that_died(register):
    register("test_minutely", EVERY_MINUTE, lambda now: "swept")
    now = timezone.now()
    past, alive = "2026-11-23T10:58Z", "2026-11-23T10:59Z"
    for key, expires in ((past, now - timedelta(seconds=1)), (alive, now + timedelta(minutes=1))):
        Lease.objects.create(
            name=f"maintenance:test_minutely:{key}",
            holder="other-host:x:9:abc",
            acquired_at=now - timedelta(minutes=2),
            expires_at=expires,
        )
        MaintenanceRun.objects.create(
            job="test_minutely", run_key=key, lease=f"maintenance:test_minutely:{key}"
        )

    record = run_job(
        "test_minutely", now=datetime.datetime(2026, 11, 23, 11, 0, tzinfo=datetime.UTC)
    )

    outcomes = dict(MaintenanceRun.objects.values_list("run_key", "outcome"))
    assert record.run_key == "2026-11-23T11:00Z"
    assert outcomes == {past: "abandoned", alive: "running", record.run_key: "ok"}


def test_a_queued_run_left_running_by_a_dead_worker_is_taken_over_by_the_redelivered_task(
    register,
):
    done = ["a"]
    register("test_queued", DAILY, subjects_job(done))
    record = MaintenanceRun.objects.create(
        job="test_queued", outcome=MaintenanceRun.Outcome.RUNNING
    )
    lease = f"maintenance:test_queued:run-{record.pk}"
    MaintenanceRun.objects.filter(pk=record.pk).update(lease=lease)
    now = timezone.now()
    Lease.objects.create(
        name=lease, holder="other-host:x:7:abc", acquired_at=now, expires_at=now + timedelta(1)
    )

    assert maintenance_queued(record.pk).endswith("running on another worker"), "alive: wait"
    Lease.objects.filter(name=lease).update(expires_at=now - timedelta(seconds=1))
    assert maintenance_queued(record.pk) == "test_queued: 3 done"

    record.refresh_from_db()
    assert (record.outcome, record.lease) == ("ok", lease)
    assert done == ["a", "b", "c", "d"]


def test_every_cadence_has_a_period_key_and_the_fall_back_hours_are_two_periods():
    first_two = datetime.datetime(2026, 10, 25, 0, 30, tzinfo=datetime.UTC)  # 02:30 CEST
    second_two = first_two + timedelta(hours=1)  # 02:30 CET

    assert first_two.astimezone(STOCKHOLM).hour == second_two.astimezone(STOCKHOLM).hour == 2
    assert run_key(HOURLY, first_two) != run_key(HOURLY, second_two)
    assert run_key(EVERY_MINUTE, first_two) == "2026-10-25T00:30Z"
    assert run_key(EVERY_5_MINUTES, first_two + timedelta(minutes=4)) == "2026-10-25T00:30Z"
    assert run_key(EVERY_5_MINUTES, first_two + timedelta(minutes=5)) == "2026-10-25T00:35Z"
    assert run_key(DAILY, first_two) == run_key(DAILY, second_two) == "2026-10-25"


# ------------------------------------------------------------------------------
# Steps done once, whichever run does them
# ------------------------------------------------------------------------------
def test_a_step_is_done_once_and_a_failed_step_is_left_to_do():
    sent = []

    def send(key):
        with step_once(key) as due:
            if due:
                sent.append(key)

    send("report:x")
    send("report:x")
    with pytest.raises(RuntimeError), step_once("report:y") as due:
        assert due
        raise RuntimeError("SMTP went away")
    send("report:y")

    assert sent == ["report:x", "report:y"]
    assert set(MaintenanceStep.objects.values_list("key", flat=True)) == {"report:x", "report:y"}


# ------------------------------------------------------------------------------
# Runs by hand
# ------------------------------------------------------------------------------
MANAGERS = ["anna@pilotops.example", "bo@pilotops.example"]


@pytest.fixture
def managers(staff_member):
    from core import roles

    for name in ("anna", "bo"):
        manager = staff_member(roles.PILOT_MANAGERS, username=name)
        manager.email = f"{name}@pilotops.example"
        manager.save()


def run_maintenance(*args: str) -> str:
    out = io.StringIO()
    call_command("run_maintenance", *args, stdout=out)
    return out.getvalue()


def daily_reports() -> list[tuple[str, str]]:
    """(recipient, subject) of each daily report in the outbox."""
    return list(
        Message.objects.filter(purpose="report", subject__contains="daily report")
        .order_by("pk")
        .values_list("recipient", "subject")
    )


@pytest.mark.parametrize("date", [["--date", "2026-11-24"], []], ids=["for a date", "today"])
def test_run_maintenance_twice_in_a_day_sends_one_daily_report_and_resend_sends_another(
    managers, date
):
    first = run_maintenance("daily_report", *date)
    second = run_maintenance("daily_report", *date)

    once = daily_reports()
    assert sorted(recipient for recipient, _ in once) == MANAGERS, "one report for each manager"
    assert first.startswith("daily_report: 2 reports sent")
    assert "already done for" in second and "Use --resend" in second

    resent = run_maintenance("daily_report", *date, "--resend")

    assert daily_reports() == once + once, "the same report once more for each manager"
    assert resent.startswith("daily_report: 2 reports sent")


def test_beat_after_a_run_by_hand_does_not_send_the_report_again(managers):
    run_maintenance("daily_report", "--date", "2026-11-24")

    scheduled = run_job("daily_report", now=datetime.datetime(2026, 11, 24, 3, tzinfo=STOCKHOLM))

    assert scheduled is None, "the day's run was the one by hand"
    assert len(daily_reports()) == len(MANAGERS)


def test_a_weekly_report_by_hand_on_a_weekday_leaves_sundays_run_to_beat(managers):
    wednesday = datetime.datetime(2026, 11, 25, 10, tzinfo=STOCKHOLM)
    by_hand = run_maintenance("weekly_report", "--date", "2026-11-25")
    again = run_maintenance("weekly_report", "--date", "2026-11-25")

    sunday = run_job("weekly_report", now=wednesday + timedelta(days=4))

    subjects = list(Message.objects.order_by("pk").values_list("subject", flat=True))
    assert by_hand.startswith("weekly_report: 2 reports sent")
    assert "already done for" in again
    assert sunday is not None and sunday.run_key == "2026-W48"
    assert subjects == 2 * ["Pilot Ops weekly report: Nov. 18, 2026 – Nov. 24, 2026"] + 2 * [
        "Pilot Ops weekly report: Nov. 22, 2026 – Nov. 28, 2026"
    ]
