"""The data requests' share of core's sweeps (see core.jobs)."""

from datetime import datetime

from core.maintenance import Counts, job_step
from privacy import links, services


@job_step("outbox_delivery")
def requests_answered(now: datetime) -> Counts:
    """Self-service data requests a lost task never answered: their links go out this round."""
    answered = links.data_requests_answer_due(now=now)
    return Counts({"data requests answered": answered} if answered else {})


@job_step("retention_sweep")
def retention(now: datetime) -> Counts:
    return Counts({"data request contacts purged": services.data_requests_purge(now=now)})
