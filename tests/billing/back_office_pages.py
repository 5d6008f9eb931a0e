"""Billing rows the demo lacks (an offer, a subscription and its invoice), for the Swedish page
check."""

from datetime import timedelta

from django.utils import timezone

from billing.models import Invoice, Offer, Plan, Subscription
from pilots.models import Business

PAGES: list[str] = []


def make_rows() -> None:
    """An offer, a subscription with an invoice, so their change pages are read."""
    business = Business.objects.order_by("pk").first()
    plan = Plan.objects.order_by("pk").first()
    if business is None or plan is None:
        return
    now = timezone.now()
    offer = Offer.objects.create(
        business=business,
        plan=plan,
        method=Offer.Method.INVOICE,
        status=Offer.Status.SUBSCRIBED,
        idempotency_key="offer-back-office",
    )
    subscription = Subscription.objects.create(
        business=business,
        plan=plan,
        offer=offer,
        stripe_subscription_id="sub_back_office",
        status=Subscription.Status.ACTIVE,
        current_period_end=now + timedelta(days=20),
        started_at=now - timedelta(days=10),
    )
    Invoice.objects.create(
        business=business,
        subscription=subscription,
        stripe_invoice_id="in_back_office",
        number="PO-0001",
        status=Invoice.Status.OPEN,
        amount_due=37375,
        tax=7475,
        due_at=now + timedelta(days=20),
    )
