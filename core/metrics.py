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
from contextlib import contextmanager
from datetime import timedelta
from zoneinfo import ZoneInfo

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
        from django.db.models import Avg, Count, Q
        from django.utils import timezone

        from core.models import Heartbeat, Message
        from pilots.models import Enrollment, Payment, Payout, PayoutAttempt
        from pilots.selectors import feedback_counted
        from support.models import Incident, Priority, Ticket

        now = timezone.now()
        payments = GaugeMetricFamily("pilotops_payments", "Payments by status.", labels=["status"])
        for row in Payment.objects.values("status").annotate(n=Count("id")).order_by():
            payments.add_metric([row["status"]], row["n"])

        payouts = GaugeMetricFamily(
            "pilotops_payouts_unsettled",
            "Payouts whose outcome at Stripe is not settled yet, by status.",
            labels=["status"],
        )
        unsettled = dict.fromkeys(Payout.UNSETTLED, 0)
        for row in (
            Payout.objects.filter(status__in=Payout.UNSETTLED)
            .values("status")
            .annotate(n=Count("id"))
            .order_by()
        ):
            unsettled[row["status"]] = row["n"]
        for status, count in unsettled.items():
            payouts.add_metric([status], count)

        # Attempts are made by the Celery workers, whose counters no web
        # process sees: the alert on refusals reads the attempts' own rows.
        attempts = GaugeMetricFamily(
            "pilotops_payout_attempts_last_hour",
            "Transfer attempts answered in the last hour, by outcome.",
            labels=["outcome"],
        )
        answered = dict.fromkeys(
            [
                PayoutAttempt.Outcome.SUCCEEDED,
                PayoutAttempt.Outcome.REFUSED,
                PayoutAttempt.Outcome.UNKNOWN,
            ],
            0,
        )
        for row in (
            PayoutAttempt.objects.filter(
                finished_at__gte=now - timedelta(hours=1), outcome__in=list(answered)
            )
            .values("outcome")
            .annotate(n=Count("id"))
            .order_by()
        ):
            answered[row["outcome"]] = row["n"]
        for outcome, count in answered.items():
            attempts.add_metric([outcome], count)

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

        tickets = GaugeMetricFamily(
            "pilotops_open_tickets", "Open tickets by priority.", labels=["priority"]
        )
        breached = GaugeMetricFamily(
            "pilotops_breached_open_tickets",
            "Open tickets past a response or resolution due time, by priority.",
            labels=["priority"],
        )
        breached_by_priority = dict.fromkeys(Priority.values, 0)
        for row in (
            Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES)
            .filter(Q(response_breached_at__isnull=False) | Q(resolution_breached_at__isnull=False))
            .values("priority")
            .annotate(n=Count("id"))
            .order_by()
        ):
            breached_by_priority[row["priority"]] = row["n"]
        for priority, count in breached_by_priority.items():
            breached.add_metric([priority], count)
        for row in (
            Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES)
            .values("priority")
            .annotate(n=Count("id"))
            .order_by()
        ):
            tickets.add_metric([row["priority"]], row["n"])

        incidents = GaugeMetricFamily(
            "pilotops_open_incidents", "Open incidents by severity.", labels=["severity"]
        )
        for row in (
            Incident.objects.exclude(status=Incident.Status.RESOLVED)
            .values("severity")
            .annotate(n=Count("id"))
            .order_by()
        ):
            incidents.add_metric([row["severity"]], row["n"])

        heartbeat = Heartbeat.objects.filter(source=Heartbeat.Source.BEAT).first()
        beat_age = GaugeMetricFamily(
            "pilotops_beat_heartbeat_age_seconds", "Seconds since celery beat's last heartbeat."
        )
        if heartbeat is not None:
            beat_age.add_metric([], (now - heartbeat.last_seen_at).total_seconds())

        sites = list(
            Enrollment.objects.filter(status=Enrollment.Status.ACTIVE).select_related("business")
        )
        in_peak = GaugeMetricFamily(
            "pilotops_site_in_peak_hours",
            "1 while an actively enrolled business is in its peak hours.",
            labels=["business"],
        )
        for enrollment in sites:
            business = enrollment.business
            local = now.astimezone(ZoneInfo(business.timezone)).time()
            busy = any(w.starts <= local < w.ends for w in business.peak_windows)
            in_peak.add_metric([business.slug], 1 if busy else 0)

        quality = GaugeMetricFamily(
            "pilotops_site_quality_average_24h",
            "Average quality score of the last 24 hours' feedback, by active business.",
            labels=["business"],
        )
        for row in (
            feedback_counted()
            .filter(
                business__in=[e.business_id for e in sites],
                submitted_at__gte=now - timedelta(hours=24),
            )
            .values("business__slug")
            .annotate(average=Avg("quality_score"))
            .order_by()
        ):
            quality.add_metric([row["business__slug"]], row["average"])
        from core import jobs  # noqa: F401 - registers the jobs
        from core.maintenance import JOBS, last_success_by_job

        last_runs = GaugeMetricFamily(
            "pilotops_job_last_success_timestamp",
            "When each periodic job last finished successfully (Unix time), with its cadence "
            "(every_minute, every_5_minutes, hourly, daily, weekly) for the alert rules.",
            labels=["job", "cadence"],
        )
        for job, finished in last_success_by_job().items():
            cadence = JOBS[job].cadence if job in JOBS else "unknown"
            last_runs.add_metric([job, cadence.replace(" ", "_")], finished.timestamp())
        return [
            payments,
            payouts,
            attempts,
            outbox,
            tickets,
            breached,
            incidents,
            beat_age,
            in_peak,
            quality,
            last_runs,
            *_operations_families(),
            *_probe_families(),
            *_backup_families(),
        ]


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


def _probe_families() -> list:
    """The last synthetic journey through the public form (see pilots/probe.py)."""
    from pilots.models import ProbeRun

    last = ProbeRun.objects.order_by("-started_at", "-id").first()
    if last is None:
        return []
    success = GaugeMetricFamily(
        "pilotops_probe_success", "1 when the last synthetic journey through the form succeeded."
    )
    success.add_metric([], 1 if last.ok else 0)
    latency = GaugeMetricFamily(
        "pilotops_probe_latency_seconds", "How long the last synthetic journey took."
    )
    latency.add_metric([], last.latency_ms / 1000)
    at = GaugeMetricFamily(
        "pilotops_probe_last_run_timestamp_seconds", "When the last synthetic journey ran."
    )
    at.add_metric([], last.started_at.timestamp())
    return [success, latency, at]


def _backup_families() -> list:
    """Backup age, the last proven restore and its time (see backups/selectors.py)."""
    from backups.selectors import backup_metric_families

    return backup_metric_families()


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
