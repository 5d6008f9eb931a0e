"""Reads: which businesses a plan entitles to which features, and the billing figures."""

from collections import defaultdict

from billing.models import Subscription


def plan_entitlements() -> dict[str, frozenset[int]]:
    """Feature name → businesses whose running plan includes it (core/flags loads this)."""
    entitled: dict[str, set[int]] = defaultdict(set)
    rows = Subscription.objects.filter(
        status__in=Subscription.ENTITLED, features_suspended_at__isnull=True
    ).values_list("business_id", "plan__features")
    for business_id, features in rows:
        for name in features or ():
            entitled[name].add(business_id)
    return {name: frozenset(ids) for name, ids in entitled.items()}


def business_subscription(business_id: int) -> Subscription | None:
    """The business's current subscription: the newest that has not ended, else the newest."""
    rows = Subscription.objects.filter(business_id=business_id).select_related("plan")
    return rows.exclude(status=Subscription.Status.CANCELLED).first() or rows.first()
