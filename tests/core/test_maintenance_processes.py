"""Periodic work in real processes: a daily run killed halfway, and every job run by twins.

A run killed with SIGKILL leaves its record *running* and its lease held; the
next trigger takes the period over, marks the dead run *abandoned* and does
only what is left. Two processes running every job at the same instant leave
the database and the e-mails exactly as one run does, on a normal day, both
days the clocks change and a Sunday.
"""

import collections
import datetime
import io
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from core import (
    jobs,  # noqa: F401 - registers the jobs
    roles,
)
from core.maintenance import DAILY_HOUR, JOBS
from core.models import Event, MaintenanceRun, Message
from pilots.models import Business, Enrollment, Feedback, Pilot, QRCode
from support.models import Ticket, TicketEvent
from support.services import ticket_create
from tests.celery_processes import worker_database_url
from tests.conftest import PROJECT_DIR, stripe_env
from tests.twin_processes import twins_run

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def manage(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    process_env = {**os.environ, "DATABASE_URL": worker_database_url(), **(env or {})}
    process_env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=process_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# ------------------------------------------------------------------------------
# A daily run killed halfway
# ------------------------------------------------------------------------------
PILOTS = 150


@pytest.fixture
def ended_pilots():
    """150 active pilots that ended yesterday, each with one enrolled café."""
    day = datetime.date(2026, 10, 25)
    businesses = Business.objects.bulk_create(
        Business(name=f"Café {n}", slug=f"cafe-{n}", city="Stockholm", expected_daily_customers=100)
        for n in range(PILOTS)
    )
    pilots = Pilot.objects.bulk_create(
        Pilot(
            name=f"Pilot {n}",
            slug=f"pilot-{n}",
            status=Pilot.Status.ACTIVE,
            starts_on=day - timedelta(days=30),
            ends_on=day - timedelta(days=1),
        )
        for n in range(PILOTS)
    )
    Enrollment.objects.bulk_create(
        Enrollment(pilot=pilot, business=business, trial_limit=100)
        for pilot, business in zip(pilots, businesses, strict=True)
    )
    return day


@pytest.mark.chaos
def test_a_daily_run_killed_halfway_is_finished_by_the_next_trigger_each_pilot_once(
    ended_pilots,
):
    day = ended_pilots.isoformat()
    completed = Pilot.objects.filter(status=Pilot.Status.COMPLETED)
    first = manage("run_maintenance", "pilot_lifecycle", "--date", day)
    deadline = time.monotonic() + 120
    while not completed.exists() and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait()

    done_by_the_killed_run = completed.count()
    assert first.returncode == -signal.SIGKILL, first.stderr.read()[-2000:]
    assert 0 < done_by_the_killed_run < PILOTS, "killed after part of the work"
    (killed,) = MaintenanceRun.objects.filter(job="pilot_lifecycle")
    assert killed.outcome == MaintenanceRun.Outcome.RUNNING

    second = manage("run_maintenance", "pilot_lifecycle", "--date", day)
    output, errors = second.communicate(timeout=300)

    assert second.returncode == 0, errors[-2000:]
    left = PILOTS - done_by_the_killed_run
    assert output.startswith(f"pilot_lifecycle: {left} pilots completed")
    assert completed.count() == PILOTS
    completions = collections.Counter(
        Event.objects.filter(action="pilot_complete").values_list("subject_id", flat=True)
    )
    assert sorted(completions) == sorted(Pilot.objects.values_list("pk", flat=True))
    assert set(completions.values()) == {1}, "every pilot completed exactly once"
    closings = collections.Counter(
        Event.objects.filter(action="enrollment_closed").values_list("subject_id", flat=True)
    )
    assert len(closings) == PILOTS and set(closings.values()) == {1}
    killed.refresh_from_db()
    taken_over = MaintenanceRun.objects.exclude(pk=killed.pk).get(job="pilot_lifecycle")
    assert killed.outcome == MaintenanceRun.Outcome.ABANDONED
    assert (taken_over.outcome, taken_over.run_key) == ("ok", day)
    assert taken_over.counts == {"pilots completed": left}


# ------------------------------------------------------------------------------
# Every job, twice at the same instant
# ------------------------------------------------------------------------------
JOB_ORDER = sorted(JOBS)


def scenario(day: datetime.date, django_user_model) -> None:
    """A little of everything each job works on, relative to ``day``."""
    for name, group in (
        ("anna", roles.PILOT_MANAGERS),
        ("bo", roles.PILOT_MANAGERS),
        ("lea", roles.SUPPORT_LEADS),
    ):
        user = django_user_model.objects.create_user(
            name, email=f"{name}@pilotops.example", is_staff=True
        )
        user.groups.add(apps.get_model("auth", "Group").objects.get(name=group))
    ended, running, _ = Pilot.objects.bulk_create(
        [
            Pilot(
                name="Ended yesterday",
                slug="ended",
                status=Pilot.Status.ACTIVE,
                starts_on=day - timedelta(days=40),
                ends_on=day - timedelta(days=1),
            ),
            Pilot(
                name="Running",
                slug="running",
                status=Pilot.Status.ACTIVE,
                starts_on=day - timedelta(days=20),
                ends_on=day + timedelta(days=20),
            ),
            Pilot(
                name="Ended a month ago",
                slug="long-over",
                status=Pilot.Status.COMPLETED,
                starts_on=day - timedelta(days=90),
                ends_on=day - timedelta(days=31),
            ),
        ]
    )
    aurora, malmo, full = Business.objects.bulk_create(
        Business(name=name, slug=name.lower(), city="Stockholm", expected_daily_customers=500)
        for name in ("Aurora", "Malmo", "Full")
    )
    Enrollment.objects.bulk_create(
        [
            Enrollment(pilot=ended, business=aurora, trial_limit=100),
            Enrollment(pilot=running, business=malmo, trial_limit=100),
            Enrollment(pilot=running, business=full, trial_limit=2, feedback_count=2),
        ]
    )
    codes = QRCode.objects.bulk_create(
        QRCode(business=business, placement="Table 1", token=f"token-{business.slug}-0001")
        for business in (aurora, malmo, full)
    )
    yesterday = datetime.datetime.combine(
        day - timedelta(days=1), datetime.time(12), tzinfo=STOCKHOLM
    )
    malmo_enrollment = Enrollment.objects.get(business=malmo)
    Feedback.objects.bulk_create(
        Feedback(
            business=malmo,
            pilot=running,
            enrollment=malmo_enrollment,
            qr_code=codes[1],
            rating=2,
            language="sv",
            quality_score=30,
            client_hash=f"{n}" * 64,
            submitted_at=yesterday,
            contact_email=f"guest{n}@example.se" if n == 0 else "",
            consent_at=yesterday if n == 0 else None,
        )
        for n in range(3)
    )
    Feedback.objects.filter(contact_email="guest0@example.se").update(
        submitted_at=yesterday - timedelta(days=120)
    )
    now = datetime.datetime.combine(day, datetime.time(DAILY_HOUR), tzinfo=STOCKHOLM)
    resolved = ticket_create(title="Resolved long ago", priority="P3", now=now - timedelta(days=9))
    Ticket.objects.filter(pk=resolved.pk).update(
        status=Ticket.Status.RESOLVED, resolved_at=now - timedelta(days=8)
    )
    ticket_create(title="Payments broken", priority="P0", now=now - timedelta(hours=5))


def database_state() -> dict:
    """Every table's row count, and what the jobs decide, in a form two runs can compare."""
    state: dict = {model._meta.label: model.objects.count() for model in apps.get_models()}
    state["runs"] = sorted(MaintenanceRun.objects.values_list("job", "run_key", "outcome"))
    state["events"] = collections.Counter(Event.objects.values_list("action", flat=True))
    state["ticket events"] = collections.Counter(TicketEvent.objects.values_list("kind", flat=True))
    state["tickets"] = sorted(Ticket.objects.values_list("title", "status", "escalation_level"))
    state["pilots"] = sorted(Pilot.objects.values_list("slug", "status"))
    state["enrollments"] = sorted(Enrollment.objects.values_list("business__slug", "status"))
    state["contacts"] = Feedback.objects.exclude(contact_email="").count()
    state["messages"] = sorted(
        Message.objects.values_list("purpose", "subject", "recipient", "status", "attempts")
    )
    return state


def database_reset() -> None:
    """Back to the migrated database, as between two tests."""
    call_command(
        "flush",
        verbosity=0,
        interactive=False,
        reset_sequences=False,  # the restored rows keep their ids; new ones come after
        inhibit_post_migrate=True,
    )
    connection.creation.deserialize_db_from_string(connection._test_serialized_contents)


@pytest.mark.parametrize(
    "day",
    [
        datetime.date(2026, 11, 24),  # a Tuesday
        datetime.date(2027, 3, 28),  # clocks spring forward (a Sunday)
        datetime.date(2026, 10, 25),  # clocks fall back (a Sunday)
        datetime.date(2026, 11, 29),  # a Sunday
    ],
    ids=["weekday", "spring-forward", "fall-back", "sunday"],
)
def test_every_job_run_by_two_processes_at_once_equals_one_run(day, django_user_model, stripe_fake):
    # One run of every job, in this process.
    scenario(day, django_user_model)
    for name in JOB_ORDER:
        call_command("run_maintenance", name, "--date", day.isoformat(), stdout=io.StringIO())
    once = database_state()
    assert once["runs"] and {outcome for _, _, outcome in once["runs"]} == {"ok"}
    purposes = collections.Counter(message[0] for message in once["messages"])
    # By hand a weekly job runs on a weekday too: the daily and weekly reports and
    # one success report, each to each of the two managers.
    assert purposes["report"] == 4 and purposes["success_report"] == 2

    # The same, from scratch, by two processes running each job at the same instant.
    database_reset()
    scenario(day, django_user_model)
    finished = twins_run(
        f"""
        import io
        from django.core.management import call_command
        for name in {JOB_ORDER!r}:
            together(name)
            out = io.StringIO()
            call_command("run_maintenance", name, "--date", "{day.isoformat()}", stdout=out)
            print("RAN", out.getvalue().strip())
        """,
        env=stripe_env(stripe_fake),
    )

    assert [f.returncode for f in finished] == [0, 0], [f.stderr[-3000:] for f in finished]
    assert database_state() == once, "each row, e-mail included, made once"
    ran = [line for f in finished for line in f.stdout.splitlines() if line.startswith("RAN")]
    assert len(ran) == 2 * len(JOB_ORDER)
