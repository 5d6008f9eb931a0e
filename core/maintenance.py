"""Periodic jobs: when each is due, the run record every run leaves, and the lease it holds.

Beat triggers daily and weekly jobs every hour and the job decides whether it
is due: daily ones from 02:00 Stockholm time, weekly ones on Sundays from
02:00, once per local date or ISO week (the run key). A crontab at 02:00
would skip the day the clocks spring forward (02:00 does not exist) and
could fire twice the day they fall back (02:00 happens twice); an hourly
trigger with a once-per-day key runs exactly once on both. Jobs due every
minute, five minutes, hour or six hours are keyed by their UTC minute, five
minutes, hour or six-hour block the same way.

A run holds the lease ``maintenance:<job>:<key>`` (core.leases) and renews it
at every ``checkpoint()`` between pieces of its work. A second trigger of the
same period (a twin on another worker, a redelivered task, an operator)
finds the lease held and does nothing; once the holder has died and its
lease has lapsed, the next trigger marks the dead run *abandoned* and does
the period's work again. Each piece of that work is idempotent per subject
(state guards, upserts, dedupe keys, ``step_once`` for what is sent), so the
run that takes over does only what is left.
"""

import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from core.leases import (
    HeldLease,
    LeaseLost,
    holder_is_dead,
    lease_acquire,
    lease_holder_name,
    lease_release,
    lease_renew,
)
from core.metrics import task_timed
from core.models import Lease, MaintenanceRun, MaintenanceStep

logger = logging.getLogger(__name__)

LOCAL_ZONE = ZoneInfo("Europe/Stockholm")
DAILY_HOUR = 2

EVERY_MINUTE = "every minute"
EVERY_5_MINUTES = "every 5 minutes"
HOURLY = "hourly"
EVERY_6_HOURS = "every 6 hours"
DAILY = "daily"
WEEKLY = "weekly"
CADENCES = (EVERY_MINUTE, EVERY_5_MINUTES, HOURLY, EVERY_6_HOURS, DAILY, WEEKLY)

# A job due every minute must not stay blocked for long by a worker that died.
EVERY_MINUTE_LEASE_SECONDS = 120


@dataclass(frozen=True)
class Job:
    name: str
    cadence: str
    run: Callable[[datetime], object]  # takes "now"; returns a summary (str() is kept)


JOBS: dict[str, Job] = {}


def job(name: str, cadence: str):
    """Register a maintenance job under ``name``."""
    if cadence not in CADENCES:
        raise ValueError(f"unknown cadence {cadence!r}")

    def register(run: Callable[[datetime], object]) -> Callable[[datetime], object]:
        JOBS[name] = Job(name=name, cadence=cadence, run=run)
        return run

    return register


# Apps add their share of a job that sweeps across them (the retention sweep,
# the outbox round) with ``job_step``; the job runs the steps in the order the
# apps are installed.
JOB_STEPS: dict[str, list[Callable[[datetime], "Counts"]]] = {}


def job_step(job_name: str):
    """Register a step (``now`` → Counts) of the job ``job_name``."""

    def register(step: Callable[[datetime], "Counts"]) -> Callable[[datetime], "Counts"]:
        JOB_STEPS.setdefault(job_name, []).append(step)
        return step

    return register


def job_steps_run(job_name: str, now: datetime) -> "Counts":
    """Every app's step of ``job_name``, their counts together."""
    summary = Counts()
    for step in JOB_STEPS.get(job_name, []):
        summary.merge(step(now))
    return summary


def run_key(cadence: str, now: datetime) -> str | None:
    """The key of the period a run at ``now`` belongs to; None when the job is not due."""
    local = now.astimezone(LOCAL_ZONE)
    if cadence == DAILY:
        return local.date().isoformat() if local.hour >= DAILY_HOUR else None
    if cadence == WEEKLY:
        if local.weekday() != 6 or local.hour < DAILY_HOUR:
            return None
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    utc = now.astimezone(UTC)
    if cadence == HOURLY:
        return utc.strftime("%Y-%m-%dT%HZ")
    if cadence == EVERY_6_HOURS:
        return utc.replace(hour=utc.hour - utc.hour % 6).strftime("%Y-%m-%dT%HZ")
    if cadence == EVERY_5_MINUTES:
        return utc.replace(minute=utc.minute - utc.minute % 5).strftime("%Y-%m-%dT%H:%MZ")
    return utc.strftime("%Y-%m-%dT%H:%MZ")


@dataclass
class Counts:
    """A job's summary: named counts, kept on its run record."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount

    def merge(self, other: "Counts") -> "Counts":
        for name, amount in other.counts.items():
            self.add(name, amount)
        return self

    def __str__(self) -> str:
        return (
            ", ".join(f"{value} {name}" for name, value in self.counts.items()) or "nothing to do"
        )


def lease_seconds(cadence: str) -> float:
    if cadence == EVERY_MINUTE:
        return min(settings.MAINTENANCE_LEASE_SECONDS, EVERY_MINUTE_LEASE_SECONDS)
    return settings.MAINTENANCE_LEASE_SECONDS


# ------------------------------------------------------------------------------
# The run in progress, for the jobs' checkpoints and steps
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CurrentRun:
    record: MaintenanceRun
    lease: HeldLease
    resend: bool


_current_run: ContextVar[CurrentRun | None] = ContextVar("maintenance_run", default=None)


def checkpoint() -> None:
    """Call between two pieces of a job's work: renews the run's lease.

    Raises LeaseLost when another run has taken the period over (this worker
    was too slow to renew): the job stops and leaves the rest to that run.
    Outside a run (a test, a shell) it does nothing.
    """
    current = _current_run.get()
    if current is not None:
        current.lease.renew()


@contextmanager
def step_once(key: str) -> Iterator[bool]:
    """A piece of work done once whichever run does it: yields False when it is done already.

    The step's row and whatever the block writes commit in one transaction,
    so a block that fails leaves the step to do, and a twin running at the
    same moment waits for the row and then skips. A run asked to resend
    (``run_maintenance --resend``) yields True even for a done step.
    """
    checkpoint()
    current = _current_run.get()
    with transaction.atomic():
        try:
            with transaction.atomic():
                MaintenanceStep.objects.create(
                    key=key, run=current.record if current else None, done_at=timezone.now()
                )
            first = True
        except IntegrityError:
            first = False
        yield first or (current is not None and current.resend)


# ------------------------------------------------------------------------------
# Running a job
# ------------------------------------------------------------------------------
def run_job(
    name: str, *, now: datetime | None = None, key: str | None = None, resend: bool = False
) -> MaintenanceRun | None:
    """Run ``name`` for its period at ``now`` unless that period is done or being done elsewhere.

    Returns the finished run record, or None when nothing ran: not due, done
    already, running on another worker, or this worker lost the lease
    midway. A job that raises leaves an *error* record and raises; the next
    trigger of the period tries again.
    """
    maintenance = JOBS[name]
    now = now or timezone.now()
    key = run_key(maintenance.cadence, now) if key is None else key
    if key is None:
        return None
    if _period_done(name, key):
        return None
    return _run_holding(
        maintenance,
        f"maintenance:{name}:{key}",
        lambda lease_name: _period_take(name, key, lease_name),
        now=now,
        resend=resend,
    )


def job_enqueue(name: str, *, requested_by=None) -> MaintenanceRun:
    """Queue one run of ``name`` now, for a worker: the admin's "run it now" buttons.

    The run record exists at once (outcome *queued*), so the page that asked
    can link to it; the worker that takes the task runs exactly that record.
    """
    from core.tasks import maintenance_queued

    if name not in JOBS:
        raise KeyError(f"no maintenance job {name!r}")
    record = MaintenanceRun.objects.create(
        job=name,
        started_at=timezone.now(),
        outcome=MaintenanceRun.Outcome.QUEUED,
        requested_by=requested_by,
    )
    transaction.on_commit(lambda: maintenance_queued.delay(record.pk))
    return record


def run_queued(run_id: int) -> MaintenanceRun | None:
    """Run a queued record once: a redelivered task finds it done, or still held, and stops.

    A record left *running* by a worker that died (its lease lapsed) is
    taken over by the redelivered task, like a scheduled run's period.
    """
    record = MaintenanceRun.objects.filter(pk=run_id).first()
    unfinished = [MaintenanceRun.Outcome.QUEUED, MaintenanceRun.Outcome.RUNNING]
    if record is None or record.outcome not in unfinished:
        return None

    def take(lease_name: str) -> MaintenanceRun | None:
        taken = MaintenanceRun.objects.filter(pk=run_id, outcome__in=unfinished).update(
            outcome=MaintenanceRun.Outcome.RUNNING, lease=lease_name, started_at=timezone.now()
        )
        return MaintenanceRun.objects.get(pk=run_id) if taken else None

    return _run_holding(
        JOBS[record.job], f"maintenance:{record.job}:run-{record.pk}", take, now=timezone.now()
    )


def _run_holding(
    maintenance: Job,
    lease_name: str,
    take: Callable[[str], MaintenanceRun | None],
    *,
    now: datetime,
    resend: bool = False,
) -> MaintenanceRun | None:
    """Run ``maintenance`` holding ``lease_name``, on the record ``take`` returns once it is held.

    None when another worker holds the lease or ``take`` finds nothing to do.
    """
    lease = HeldLease(
        name=lease_name, holder=lease_holder_name(), seconds=lease_seconds(maintenance.cadence)
    )
    if not lease_acquire(name=lease.name, holder=lease.holder, seconds=lease.seconds):
        return None
    try:
        record = take(lease.name)
        if record is None:
            return None
        return _run_recorded(maintenance, record, now, lease=lease, resend=resend)
    finally:
        lease_release(name=lease.name, holder=lease.holder)


def _period_done(name: str, key: str) -> bool:
    return MaintenanceRun.objects.filter(
        job=name, run_key=key, outcome=MaintenanceRun.Outcome.OK
    ).exists()


@transaction.atomic
def _period_take(name: str, key: str, lease_name: str) -> MaintenanceRun | None:
    """With the period's lease held: the new run record, or None when the period is done.

    Any run still marked running under this lease stopped renewing it (its
    worker died, or lost the lease): it is marked abandoned.
    """
    if _period_done(name, key):
        return None
    now = timezone.now()
    abandoned = MaintenanceRun.objects.filter(
        lease=lease_name, outcome=MaintenanceRun.Outcome.RUNNING
    ).update(
        outcome=MaintenanceRun.Outcome.ABANDONED,
        finished_at=now,
        error="Its worker stopped renewing the lease; a later run took the period over.",
    )
    abandoned += _dead_runs_close(name, now=now, except_lease=lease_name)
    if abandoned:
        logger.warning("maintenance job %s: %s abandoned run(s) closed", name, abandoned)
    return MaintenanceRun.objects.create(job=name, run_key=key, lease=lease_name, started_at=now)


def _dead_runs_close(name: str, *, now: datetime, except_lease: str) -> int:
    """Mark abandoned the runs of ``name`` left running under a lease nobody holds any more.

    Runs of past periods (a minute's sweep, a queued run) get no later
    trigger of their own; the next run of the job closes their records.
    """
    running = list(
        MaintenanceRun.objects.filter(job=name, outcome=MaintenanceRun.Outcome.RUNNING)
        .exclude(lease__in=["", except_lease])
        .only("pk", "lease")
    )
    if not running:
        return 0
    leases = {
        lease.name: lease for lease in Lease.objects.filter(name__in={run.lease for run in running})
    }
    dead = [
        run.pk
        for run in running
        if (lease := leases.get(run.lease)) is None
        or lease.expires_at <= now
        or holder_is_dead(lease.holder)
    ]
    return MaintenanceRun.objects.filter(
        pk__in=dead, outcome=MaintenanceRun.Outcome.RUNNING
    ).update(
        outcome=MaintenanceRun.Outcome.ABANDONED,
        finished_at=now,
        error="Its worker stopped renewing the lease before the run finished.",
    )


def _run_recorded(
    maintenance: Job, record: MaintenanceRun, now: datetime, *, lease: HeldLease, resend: bool
) -> MaintenanceRun | None:
    name = maintenance.name
    context = _current_run.set(CurrentRun(record=record, lease=lease, resend=resend))
    try:
        with task_timed(name):
            summary = maintenance.run(now)
    except LeaseLost:
        logger.warning("maintenance job %s: another run took the period over; stopping", name)
        return None
    except Exception as error:
        _run_finish(
            record,
            lease,
            outcome=MaintenanceRun.Outcome.ERROR,
            error="".join(traceback.format_exception(error))[-4000:],
        )
        logger.exception("maintenance job %s failed", name)
        raise
    finally:
        _current_run.reset(context)
    if not _run_finish(
        record,
        lease,
        outcome=MaintenanceRun.Outcome.OK,
        summary=str(summary)[:500],
        counts=getattr(summary, "counts", None) or {},
    ):
        return None
    record.refresh_from_db()
    return record


@transaction.atomic
def _run_finish(record: MaintenanceRun, lease: HeldLease, **fields) -> bool:
    """Record how the run ended, if it still holds its lease (else the run that took over will)."""
    if not lease_renew(name=lease.name, holder=lease.holder, seconds=lease.seconds):
        return False
    return bool(
        MaintenanceRun.objects.filter(pk=record.pk, outcome=MaintenanceRun.Outcome.RUNNING).update(
            finished_at=timezone.now(), **fields
        )
    )


# ------------------------------------------------------------------------------
# Runs asked for by hand
# ------------------------------------------------------------------------------
def job_run_by_hand(
    name: str, *, now: datetime, resend: bool = False
) -> tuple[MaintenanceRun | None, str]:
    """Run ``name`` for an operator: the run and a sentence saying what happened.

    A job due at ``now`` runs for its period, so a period done already (by
    beat or an earlier hand run) is not done again and nothing is resent;
    a job not due then (a weekly job on a Wednesday) runs once for the local
    date. ``resend`` runs it again regardless, sending what it sends again.
    """
    maintenance = JOBS[name]
    if resend:
        key = f"resend-{timezone.now():%Y%m%dT%H%M%S.%f}"
    else:
        key = run_key(maintenance.cadence, now) or f"by-hand-{now.astimezone(LOCAL_ZONE).date()}"
    record = run_job(name, now=now, key=key, resend=resend)
    if record is not None:
        return record, record.summary
    done = MaintenanceRun.objects.filter(
        job=name, run_key=key, outcome=MaintenanceRun.Outcome.OK
    ).first()
    if done is not None:
        finished = timezone.localtime(done.finished_at, LOCAL_ZONE)
        return None, (
            f"already done for {key} (finished {finished:%Y-%m-%d %H:%M %Z}: {done.summary}); "
            "it was not run again and nothing was resent. Use --resend to run it again."
        )
    return None, f"a run for {key} is in progress on another worker; nothing was run here."


def local_day(now: datetime, days_back: int = 0) -> date:
    return now.astimezone(LOCAL_ZONE).date() - timedelta(days=days_back)


def last_success_by_job() -> dict[str, datetime]:
    rows = (
        MaintenanceRun.objects.filter(outcome=MaintenanceRun.Outcome.OK)
        .values("job")
        .order_by()
        .annotate(last=Max("finished_at"))
    )
    return {row["job"]: row["last"] for row in rows}
