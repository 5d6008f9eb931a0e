"""Billing's periodic jobs, registered with core's maintenance runner."""

from datetime import datetime

from billing import dunning, services
from core.maintenance import HOURLY, job


@job("billing_dunning", HOURLY)
def billing_dunning(now: datetime):
    """Overdue invoices start dunning; subscriptions past the grace period lose their features."""
    summary = dunning.dunning_sweep(now=now)
    for name, count in services.offers_settle().items():
        summary.add(name, count)
    return summary
