"""The pilots' gauges on /metrics: payments, payouts, active sites and the probe.

Read from the rows at scrape time (core.metrics caches them briefly): payout
attempts are made by the Celery workers, whose counters no web process sees,
so the alert on refusals reads the attempts' own rows.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Avg, Count
from prometheus_client.core import GaugeMetricFamily

from pilots.models import Enrollment, Payment, Payout, PayoutAttempt, ProbeRun
from pilots.selectors import feedback_counted


def pilot_gauges(now: datetime) -> list:
    return [*_payment_families(now), *_site_families(now), *_probe_families()]


def _payment_families(now: datetime) -> list:
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

    return [payments, payouts, attempts]


def _site_families(now: datetime) -> list:
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
    return [in_peak, quality]


def _probe_families() -> list:
    """The last synthetic journey through the public form (see pilots/probe.py)."""
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
