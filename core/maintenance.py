"""Periodic jobs: when each is due, and the run record every run leaves.

Beat triggers daily and weekly jobs every hour and the job decides whether it
is due: daily ones from 02:00 Stockholm time, weekly ones on Sundays from
02:00, once per local date or ISO week (a unique run key). A crontab at
02:00 would skip the day the clocks spring forward (02:00 does not exist)
and could fire twice the day they fall back (02:00 happens twice); an hourly
trigger with a once-per-day key runs exactly once on both.
"""

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from core.metrics import task_timed
from core.models import MaintenanceRun

logger = logging.getLogger(__name__)

LOCAL_ZONE = ZoneInfo("Europe/Stockholm")
DAILY_HOUR = 2

EVERY_MINUTE = "every minute"
EVERY_5_MINUTES = "every 5 minutes"
HOURLY = "hourly"
DAILY = "daily"
WEEKLY = "weekly"


@dataclass(frozen=True)
class Job:
    name: str
    cadence: str
    run: Callable[[datetime], object]  # takes "now"; returns a summary (str() is kept)


JOBS: dict[str, Job] = {}


def job(name: str, cadence: str):
    """Register a maintenance job under ``name``."""

    def register(run: Callable[[datetime], object]) -> Callable[[datetime], object]:
        JOBS[name] = Job(name=name, cadence=cadence, run=run)
        return run

    return register


def run_key(cadence: str, now: datetime) -> str | None:
    """The once-only key of a run at ``now``; None when the job is not due; "" for no key."""
    local = now.astimezone(LOCAL_ZONE)
    if cadence == DAILY:
        return local.date().isoformat() if local.hour >= DAILY_HOUR else None
    if cadence == WEEKLY:
        if local.weekday() != 6 or local.hour < DAILY_HOUR:
            return None
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if cadence == HOURLY:
        return local.strftime("%Y-%m-%dT%H")
    return ""


def run_job(
    name: str, *, now: datetime | None = None, key: str | None = None
) -> MaintenanceRun | None:
    """Run ``name`` if it is due and not done for its key; record the run either way it ends."""
    maintenance = JOBS[name]
    now = now or timezone.now()
    key = run_key(maintenance.cadence, now) if key is None else key
    if key is None:
        return None
    record = _claim(name, key, now)
    if record is None:
        return None
    return _run_recorded(maintenance, record, now)


def job_enqueue(name: str, *, requested_by=None) -> MaintenanceRun:
    """Queue one run of ``name`` now, for a worker: the admin's "run it now" buttons.

    The run record exists at once (outcome *queued*), so the page that asked
    can link to it; the worker that takes the task runs exactly that record.
    """
    from core import jobs  # noqa: F401 - registers the jobs
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
    """Run a queued record (once: a redelivered task finds it taken and does nothing)."""
    now = timezone.now()
    taken = MaintenanceRun.objects.filter(pk=run_id, outcome=MaintenanceRun.Outcome.QUEUED).update(
        outcome=MaintenanceRun.Outcome.RUNNING, started_at=now
    )
    if not taken:
        return None
    record = MaintenanceRun.objects.get(pk=run_id)
    return _run_recorded(JOBS[record.job], record, now)


def _run_recorded(maintenance: Job, record: MaintenanceRun, now: datetime) -> MaintenanceRun:
    name = maintenance.name
    try:
        with task_timed(name):
            summary = maintenance.run(now)
    except Exception as error:
        record.outcome = MaintenanceRun.Outcome.ERROR
        record.error = "".join(traceback.format_exception(error))[-4000:]
        record.finished_at = timezone.now()
        record.save(update_fields=["outcome", "error", "finished_at"])
        logger.exception("maintenance job %s failed", name)
        raise
    record.outcome = MaintenanceRun.Outcome.OK
    record.summary = str(summary)[:500]
    record.counts = getattr(summary, "counts", None) or {}
    record.finished_at = timezone.now()
    record.save(update_fields=["outcome", "summary", "counts", "finished_at"])
    return record


def _claim(name: str, key: str, now: datetime) -> MaintenanceRun | None:
    """The run row this worker owns, or None when another run has the key."""
    if not key:
        return MaintenanceRun.objects.create(job=name, started_at=now)
    try:
        with transaction.atomic():
            return MaintenanceRun.objects.create(job=name, run_key=key, started_at=now)
    except IntegrityError:
        pass
    with transaction.atomic():
        earlier = MaintenanceRun.objects.select_for_update().get(job=name, run_key=key)
        if earlier.outcome != MaintenanceRun.Outcome.ERROR:
            return None  # done, or running elsewhere
        earlier.outcome, earlier.error, earlier.started_at = MaintenanceRun.Outcome.RUNNING, "", now
        earlier.save(update_fields=["outcome", "error", "started_at"])
        return earlier


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
