"""Pilot Ops business metrics on /metrics, beside django-prometheus's own.

Counters are incremented by the services where things happen; under
gunicorn only the web workers' counters are exported, so what the alert rules
need from Celery's work (payout refusals, SLA breaches) is read from the rows
those tasks write, as gauges. Gauges come
from a collector that runs a handful of small grouped queries when Prometheus
scrapes, remembered for ``GAUGE_CACHE_SECONDS`` so a burst of scrapes costs
one round. Under gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` puts every worker's
counters and histograms in shared files, so /metrics from any worker gives
the totals of all (``metrics_export``).
"""

import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

GAUGE_CACHE_SECONDS = 15

FEEDBACK_SUBMISSIONS = Counter(
    "pilotops_feedback_submissions",
    "Feedback submissions by business and outcome (accepted, spam, refused_<reason>).",
    ["business", "outcome"],
)
SCANS = Counter("pilotops_scans", "Form landings counted as scans, by business.", ["business"])
PAYOUT_ATTEMPTS = Counter(
    "pilotops_payout_attempts", "Stripe transfer attempts by outcome.", ["outcome"]
)
PAYOUT_FAILURES = Counter(
    "pilotops_payout_failures", "Payouts settled as failed: Stripe made no transfer."
)
SLA_EVENTS = Counter(
    "pilotops_sla_events",
    "SLA warnings and breaches marked, by priority, metric and level.",
    ["priority", "metric", "level"],
)
FEATURE_REQUESTS = Counter(
    "pilotops_feature_requests",
    "Requests that checked a feature flag, by feature, variant (on or off for the request) "
    "and outcome (ok, or error for a 5xx).",
    ["feature", "variant", "outcome"],
)
# Every label set an alert rule looks at exists from the start, at zero: a rate
# over a series that is absent is no rate at all.
for _outcome in ("succeeded", "refused", "unknown"):
    PAYOUT_ATTEMPTS.labels(outcome=_outcome)
for _priority in ("P0", "P1", "P2", "P3"):
    for _metric in ("response", "resolution"):
        for _level in ("warning", "breach"):
            SLA_EVENTS.labels(priority=_priority, metric=_metric, level=_level)

TASK_DURATION = Histogram(
    "pilotops_task_duration_seconds",
    "Duration of maintenance tasks by task and outcome.",
    ["task", "outcome"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900),
)


@contextmanager
def task_timed(task: str):
    """Time a maintenance task; the outcome is "ok" or "error"."""
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        TASK_DURATION.labels(task=task, outcome=outcome).observe(time.perf_counter() - started)


# Each app adds the gauges of its own rows (``gauges_register`` in its AppConfig.ready).
GAUGE_READERS: list[Callable[[datetime], list]] = []


def gauges_register(read: Callable[[datetime], list]) -> None:
    """Add an app's gauges: ``read(now)`` returns metric families read from its rows."""
    if read not in GAUGE_READERS:
        GAUGE_READERS.append(read)


class BusinessGauges:
    """Gauges read from the database at scrape time (cached briefly)."""

    def __init__(self):
        self._cached_at = float("-inf")
        self._families: list = []

    def describe(self):
        return []  # nothing to read at registration: the database may not be there yet

    def forget(self) -> None:
        self._cached_at = float("-inf")

    def collect(self):
        if time.monotonic() - self._cached_at > GAUGE_CACHE_SECONDS:
            try:
                self._families = self._read()
            except Exception:  # noqa: BLE001 - the database being away must not break /metrics
                self._families = []
            self._cached_at = time.monotonic()
        yield from self._families

    def _read(self) -> list:
        from django.db.models import Count
        from django.utils import timezone

        from core.maintenance import JOBS, last_success_by_job
        from core.models import Heartbeat, Message

        now = timezone.now()
        outbox = GaugeMetricFamily(
            "pilotops_outbox_messages",
            "Outbox messages not sent yet, by status (failed ones included).",
            labels=["status"],
        )
        waiting = dict.fromkeys(
            [
                Message.Status.PENDING,
                Message.Status.SENDING,
                Message.Status.UNKNOWN,
                Message.Status.FAILED,
            ],
            0,
        )
        for row in (
            Message.objects.filter(status__in=list(waiting))
            .values("status")
            .annotate(n=Count("id"))
            .order_by()
        ):
            waiting[row["status"]] = row["n"]
        for status, count in waiting.items():
            outbox.add_metric([status], count)

        heartbeat = Heartbeat.objects.filter(source=Heartbeat.Source.BEAT).first()
        beat_age = GaugeMetricFamily(
            "pilotops_beat_heartbeat_age_seconds", "Seconds since celery beat's last heartbeat."
        )
        if heartbeat is not None:
            beat_age.add_metric([], (now - heartbeat.last_seen_at).total_seconds())

        last_runs = GaugeMetricFamily(
            "pilotops_job_last_success_timestamp",
            "When each periodic job last finished successfully (Unix time), with its cadence "
            "(every_minute, every_5_minutes, hourly, daily, weekly) for the alert rules.",
            labels=["job", "cadence"],
        )
        for job, finished in last_success_by_job().items():
            cadence = JOBS[job].cadence if job in JOBS else "unknown"
            last_runs.add_metric([job, cadence.replace(" ", "_")], finished.timestamp())
        families = [outbox, beat_age, last_runs, *_operations_families()]
        for read in GAUGE_READERS:
            families.extend(read(now))
        return families


def _operations_families() -> list:
    """Workers alive, dead letters and queue depths (the latter only while the broker answers)."""
    from core.selectors import dead_letters_waiting, queue_depths, workers_alive

    workers = GaugeMetricFamily(
        "pilotops_workers_alive", "Celery workers whose heartbeat is recent."
    )
    workers.add_metric([], len(workers_alive()))
    dead = GaugeMetricFamily(
        "pilotops_dead_letters", "Tasks that failed for good and wait for a decision."
    )
    dead.add_metric([], dead_letters_waiting())
    families = [workers, dead]
    try:
        depths = queue_depths()
    except Exception:  # noqa: BLE001 - no broker, no depth; the other gauges still count
        return families
    queues = GaugeMetricFamily(
        "pilotops_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"]
    )
    for queue, depth in depths.items():
        queues.add_metric([queue], depth)
    return [*families, queues]


business_gauges = BusinessGauges()


def register() -> None:
    """Add the gauges to the registry /metrics exports (once per process)."""
    if business_gauges not in REGISTRY._collector_to_names:
        REGISTRY.register(business_gauges)


def metrics_export(multiproc_dir: str) -> tuple[bytes, str]:
    """The /metrics page and its content type.

    With ``multiproc_dir`` (gunicorn), counters and histograms are read from
    every worker's files, so any worker answers with the totals; the business
    gauges are computed here, once. Without it, this process's registry.
    """
    if not multiproc_dir:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=multiproc_dir)
    registry.register(business_gauges)
    return generate_latest(registry), CONTENT_TYPE_LATEST
