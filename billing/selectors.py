"""Reads: which businesses a plan entitles to which features, and the billing figures."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, Subquery, Sum

from billing.models import Subscription
from pilots.models import Pilot


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


def businesses_subscription(business_ids) -> dict[int, Subscription]:
    """Each business's current subscription: the newest that has not ended, else the newest."""
    current: dict[int, Subscription] = {}
    for subscription in Subscription.objects.filter(business_id__in=business_ids).select_related(
        "plan"
    ):  # the newest first
        held = current.get(subscription.business_id)
        if held is None or (
            held.status == Subscription.Status.CANCELLED
            and subscription.status != Subscription.Status.CANCELLED
        ):
            current[subscription.business_id] = subscription
    return current


@dataclass(frozen=True)
class PilotConversion:
    pilot: Pilot
    businesses: int  # enrolled in the pilot
    paying: int  # of those, on a plan that has started (whatever its state now)

    @property
    def percent(self) -> float | None:
        return 100 * self.paying / self.businesses if self.businesses else None


@dataclass(frozen=True)
class BillingFigures:
    mrr: int  # öre a month, excluding VAT: running subscriptions (active or past due)
    currency: str
    running: int
    new: int  # started in the period
    churned: int  # ended in the period
    past_due: int  # now
    conversions: list[PilotConversion]


MRR_STATUSES = (Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE)


def billing_figures(*, start: datetime, end: datetime) -> BillingFigures:
    """MRR and counts now, new and churned in [start, end), pilot → paid conversion per pilot."""
    running = Subscription.objects.filter(status__in=MRR_STATUSES)
    totals = running.aggregate(mrr=Sum("plan__monthly_price"), count=Count("pk"))
    started = Subscription.objects.filter(started_at__isnull=False).values("business_id")
    pilots = (
        Pilot.objects.exclude(status=Pilot.Status.DRAFT)
        .annotate(
            businesses=Count("enrollments__business", distinct=True),
            paying=Count(
                "enrollments__business",
                filter=Q(enrollments__business__in=Subquery(started)),
                distinct=True,
            ),
        )
        .order_by("-starts_on", "name")
    )
    return BillingFigures(
        mrr=totals["mrr"] or 0,
        currency="SEK",
        running=totals["count"],
        new=Subscription.objects.filter(started_at__gte=start, started_at__lt=end).count(),
        churned=Subscription.objects.filter(cancelled_at__gte=start, cancelled_at__lt=end).count(),
        past_due=Subscription.objects.filter(status=Subscription.Status.PAST_DUE).count(),
        conversions=[
            PilotConversion(pilot=pilot, businesses=pilot.businesses, paying=pilot.paying)
            for pilot in pilots
        ],
    )
