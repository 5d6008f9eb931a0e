"""The rollouts' periodic job (see core.maintenance for cadences, leases and run records)."""

from datetime import datetime, timedelta

from django.conf import settings

from core import flags
from core.maintenance import EVERY_MINUTE, job
from rollouts import services


@job("rollouts_guard", EVERY_MINUTE)
def rollouts_guard(now: datetime):
    """Promote rollouts whose guards stayed green for the soak time; roll back on a breach."""
    summary = services.rollouts_check(now=now)
    purged = flags.request_counts_purge(
        older_than=now - timedelta(days=settings.FEATURE_COUNTS_KEPT_DAYS)
    )
    if purged:
        summary.add("request counts purged", purged)
    return summary
