"""Every periodic job of Pilot Ops, by name: what it runs and how often it is due.

Beat's schedule (CELERY_BEAT_SCHEDULE) triggers these by name through
``core.tasks.maintenance``; ``python manage.py run_maintenance <name>`` runs
one now. Each wraps services that are safe to run twice.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.management import call_command

from backups import services as backups
from backups.models import Backup
from core import flags, outbox
from core.maintenance import (
    DAILY,
    EVERY_5_MINUTES,
    EVERY_6_HOURS,
    EVERY_MINUTE,
    HOURLY,
    WEEKLY,
    checkpoint,
    job,
    local_day,
)
from core.models import MaintenanceRun, MaintenanceStep
from core.security import security_summary
from pilots import maintenance as pilot_jobs
from pilots import payouts, probe, stripe_events, stripe_gateway
from pilots import services as pilot_services
from privacy import links as privacy_links
from privacy import services as privacy
from rollouts import services as rollouts
from support import escalation, notices
from support import services as support

RUN_RECORDS_KEPT_DAYS = 30
# What a step marks done (a report sent for its period) is asked about only
# while a run for that period can still happen: days, or a week for a
# pilot's success report.
STEPS_KEPT_DAYS = 60


@job("sla_sweep", EVERY_MINUTE)
def sla_sweep(now: datetime):
    return support.sla_sweep(now=now)


@job("escalations", EVERY_MINUTE)
def escalations(now: datetime):
    """Escalation steps come due, digests at the end of quiet hours, café notices owed."""
    summary = escalation.escalations_run(now=now)
    summary.add("café notices sent", notices.cafe_notices_due(now=now))
    return summary


@job("outbox_delivery", EVERY_MINUTE)
def outbox_delivery(now: datetime):
    """Self-service data requests a lost task never answered, then every message due."""
    answered = privacy_links.data_requests_answer_due(now=now)
    summary = pilot_jobs.Counts(outbox.messages_deliver_due(now=now))
    if answered:
        summary.add("data requests answered", answered)
    return summary


@job("scan_flush", EVERY_MINUTE)
def scan_flush(now: datetime):
    return f"{pilot_services.scans_flush(now=now)} scan(s) moved to the daily rows"


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
    return pilot_jobs.pilot_health_check(now=now)


@job("kpi_snapshot", DAILY)
def kpi_snapshot(now: datetime):
    """Yesterday's figures, complete: the day is over."""
    return pilot_jobs.kpi_snapshot_take(day=local_day(now, days_back=1))


@job("pilot_lifecycle", DAILY)
def pilot_lifecycle(now: datetime):
    return pilot_jobs.pilots_lifecycle_run(today=local_day(now))


@job("retention_sweep", DAILY)
def retention_sweep(now: datetime):
    summary = pilot_jobs.retention_sweep(now=now)
    summary.add("staff contacts anonymised", support.ticket_contacts_anonymise(now=now))
    summary.add("data request contacts purged", privacy.data_requests_purge(now=now))
    summary.add(
        "outbox messages purged",
        outbox.messages_anonymise(older_than=now - timedelta(days=settings.RETENTION_DAYS)),
    )
    summary.add(
        "run records purged",
        MaintenanceRun.objects.filter(
            started_at__lt=now - timedelta(days=RUN_RECORDS_KEPT_DAYS)
        ).delete()[0],
    )
    summary.add(
        "done steps purged",
        MaintenanceStep.objects.filter(done_at__lt=now - timedelta(days=STEPS_KEPT_DAYS)).delete()[
            0
        ],
    )
    call_command("clearsessions")
    return summary


@job("daily_report", DAILY)
def daily_report(now: datetime):
    day = local_day(now, days_back=1)
    return pilot_jobs.report_send(start=day, end=day, title="daily report")


@job("weekly_report", WEEKLY)
def weekly_report(now: datetime):
    end = local_day(now, days_back=1)
    return pilot_jobs.report_send(
        start=end - timedelta(days=6),
        end=end,
        title="weekly report",
        security=security_summary(start=now - timedelta(days=7), end=now),
    )


@job("stripe_reconciliation", WEEKLY)
def stripe_reconciliation(now: datetime):
    if not stripe_gateway.is_configured():
        return "Stripe is not configured"
    counts = stripe_events.stripe_reconcile(start=now - timedelta(days=7), end=now)
    summary = pilot_jobs.Counts(counts)
    return summary


@job("tickets_auto_close", WEEKLY)
def tickets_auto_close(now: datetime):
    return f"{support.tickets_auto_close(now=now)} ticket(s) closed"


@job("qr_audit", WEEKLY)
def qr_audit(now: datetime):
    return pilot_jobs.qr_audit(today=local_day(now))


@job("success_reports", WEEKLY)
def success_reports(now: datetime):
    return pilot_jobs.success_reports_send(today=local_day(now))


@job("rollouts_guard", EVERY_MINUTE)
def rollouts_guard(now: datetime):
    """Promote rollouts whose guards stayed green for the soak time; roll back on a breach."""
    summary = rollouts.rollouts_check(now=now)
    purged = flags.request_counts_purge(
        older_than=now - timedelta(days=settings.FEATURE_COUNTS_KEPT_DAYS)
    )
    if purged:
        summary.add("request counts purged", purged)
    return summary


def _lease_kept(line: str) -> None:
    """A dump or restore's progress renews the run's lease, so a long one is not taken over."""
    checkpoint()


@job("backup", EVERY_6_HOURS)
def backup(now: datetime):
    """A backup of the database, then retention (30 daily, 12 monthly, newest verified kept)."""
    made = backups.backup_create(kind=Backup.Kind.SCHEDULED, progress=_lease_kept)
    deleted = backups.backups_prune(now=now)
    return f"{made.name} written ({made.size_bytes} bytes); {deleted} old backup(s) deleted"


@job("backup_verify", DAILY)
def backup_verify(now: datetime):
    """The newest backup restored into a scratch database and compared with its manifest."""
    if not Backup.objects.filter(deleted_at__isnull=True).exists():
        return "no backup to verify yet"
    verified = backups.backup_verify(progress=_lease_kept)
    return f"{verified.name} verified: restored in {verified.restore_seconds:.1f} s"


@job("restore_drill", WEEKLY)
def restore_drill(now: datetime):
    """A full restore of the newest backup, checked against its manifest and this code."""
    if not Backup.objects.filter(deleted_at__isnull=True).exists():
        return "no backup to restore yet"
    drilled = backups.backup_verify(drill=True, progress=_lease_kept)
    return f"{drilled.name} restored in {drilled.restore_seconds:.1f} s (restore drill)"
