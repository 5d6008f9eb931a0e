"""Support's periodic jobs (see core.maintenance for cadences, leases and run records)."""

from datetime import datetime

from core.maintenance import EVERY_MINUTE, WEEKLY, Counts, job, job_step
from support import escalation, notices, services


@job("sla_sweep", EVERY_MINUTE)
def sla_sweep(now: datetime):
    return services.sla_sweep(now=now)


@job("escalations", EVERY_MINUTE)
def escalations(now: datetime):
    """Escalation steps come due, digests at the end of quiet hours, café notices owed."""
    summary = escalation.escalations_run(now=now)
    summary.add("café notices sent", notices.cafe_notices_due(now=now))
    return summary


@job_step("retention_sweep")
def retention(now: datetime) -> Counts:
    return Counts({"staff contacts anonymised": services.ticket_contacts_anonymise(now=now)})


@job("tickets_auto_close", WEEKLY)
def tickets_auto_close(now: datetime):
    return f"{services.tickets_auto_close(now=now)} ticket(s) closed"
