"""The pilots' periodic jobs (see core.maintenance for cadences, leases and run records)."""

from datetime import datetime, timedelta

from core.maintenance import (
    DAILY,
    EVERY_5_MINUTES,
    EVERY_MINUTE,
    HOURLY,
    WEEKLY,
    Counts,
    job,
    job_step,
    local_day,
)
from core.security import security_summary
from pilots import intake, maintenance, payouts, probe, stripe_events, stripe_gateway


@job("scan_flush", EVERY_MINUTE)
def scan_flush(now: datetime):
    return f"{intake.scans_flush(now=now)} scan(s) moved to the daily rows"


@job("payout_run", EVERY_5_MINUTES)
def payout_run(now: datetime):
    return payouts.payouts_run(now=now)


@job("probe", EVERY_5_MINUTES)
def probe_journey(now: datetime):
    run = probe.probe_run(now=now)
    outcome = "ok" if run.ok else f"failed ({run.status_code or '-'}: {run.detail})"
    return f"probe {outcome} in {run.latency_ms} ms"


@job("pilot_health", HOURLY)
def pilot_health(now: datetime):
    return maintenance.pilot_health_check(now=now)


@job("kpi_snapshot", DAILY)
def kpi_snapshot(now: datetime):
    """Yesterday's figures, complete: the day is over."""
    return maintenance.kpi_snapshot_take(day=local_day(now, days_back=1))


@job("pilot_lifecycle", DAILY)
def pilot_lifecycle(now: datetime):
    return maintenance.pilots_lifecycle_run(today=local_day(now))


@job_step("retention_sweep")
def retention(now: datetime) -> Counts:
    return maintenance.retention_sweep(now=now)


@job("daily_report", DAILY)
def daily_report(now: datetime):
    day = local_day(now, days_back=1)
    return maintenance.report_send(start=day, end=day, title="daily report")


@job("weekly_report", WEEKLY)
def weekly_report(now: datetime):
    end = local_day(now, days_back=1)
    return maintenance.report_send(
        start=end - timedelta(days=6),
        end=end,
        title="weekly report",
        security=security_summary(start=now - timedelta(days=7), end=now),
    )


@job("stripe_reconciliation", WEEKLY)
def stripe_reconciliation(now: datetime):
    if not stripe_gateway.is_configured():
        return "Stripe is not configured"
    return Counts(stripe_events.stripe_reconcile(start=now - timedelta(days=7), end=now))


@job("qr_audit", WEEKLY)
def qr_audit(now: datetime):
    return maintenance.qr_audit(today=local_day(now))


@job("success_reports", WEEKLY)
def success_reports(now: datetime):
    return maintenance.success_reports_send(today=local_day(now))
