"""Stripe's word on subscriptions and invoices, applied by the one Stripe webhook endpoint.

pilots/stripe_events.py stores each event once and applies it once; these
handlers (registered from BillingConfig.ready) apply them in Stripe's time:

* a subscription row keeps the time of the newest word applied; an older
  event changes nothing but the facts it alone carries (the offer it came
  from); ``cancelled`` is final;
* an invoice once paid stays paid, whatever arrives later;
* events may come before the rows they talk about: every handler can make
  the subscription row from the metadata Pilot Ops put on it at Stripe.
"""

import logging
from datetime import datetime

from django.db import IntegrityError, transaction

from billing import dunning
from billing.models import Invoice, Offer, Plan, Subscription
from billing.services import entitlements_changed
from core.services import event_record
from pilots import stripe_gateway as gateway

logger = logging.getLogger(__name__)

LARGEST_AMOUNT = 2**31 - 1  # what a PositiveIntegerField holds on every database


def _text(obj: dict, key: str, limit: int = 255) -> str:
    return gateway.short_text(obj.get(key), limit)


def _number(obj: dict, key: str) -> int:
    value = obj.get(key)
    return value if type(value) is int and 0 <= value <= LARGEST_AMOUNT else 0


def _id_in(metadata: dict, key: str) -> int | None:
    value = metadata.get(key) if isinstance(metadata, dict) else None
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) < 19 else None


def _subscription_row(
    stripe_id: str, metadata: dict, *, customer: str, price: str = ""
) -> Subscription | None:
    """The row for ``stripe_id``, locked; made from the metadata if this is the first word."""
    if not stripe_id:
        return None
    found = (
        Subscription.objects.select_for_update().filter(stripe_subscription_id=stripe_id).first()
    )
    if found is not None:
        return found
    offer = Offer.objects.filter(pk=_id_in(metadata, "offer")).first()
    if offer is None:
        return None  # not a subscription Pilot Ops offered
    plan = Plan.objects.filter(stripe_price_id=price).first() if price else None
    try:
        with transaction.atomic():
            Subscription.objects.create(
                business_id=offer.business_id,
                plan=plan or offer.plan,
                offer=offer,
                stripe_subscription_id=stripe_id,
                stripe_customer_id=customer,
            )
    except IntegrityError:
        pass  # another delivery made it a moment ago
    return Subscription.objects.select_for_update().get(stripe_subscription_id=stripe_id)


def _offer_subscribed(row: Subscription) -> None:
    if row.offer_id:
        Offer.objects.filter(pk=row.offer_id).exclude(status=Offer.Status.SUBSCRIBED).update(
            status=Offer.Status.SUBSCRIBED, stripe_subscription_id=row.stripe_subscription_id
        )


def _is_newer(row: Subscription, at: datetime | None, status: str) -> bool:
    if row.stripe_updated_at is None:
        return True
    if at is None or at < row.stripe_updated_at:
        return False
    if at > row.stripe_updated_at:
        return True
    return Subscription.RANK[status] >= Subscription.RANK[row.status]


def _checkout_completed(session: dict, at: datetime | None) -> None:
    if _text(session, "mode") != "subscription":
        return
    row = _subscription_row(
        _text(session, "subscription"),
        session.get("metadata") or {},
        customer=_text(session, "customer"),
    )
    if row is not None:
        _offer_subscribed(row)


def _checkout_expired(session: dict, at: datetime | None) -> None:
    """Stripe let a Checkout link lapse unused (after 24 hours): the offer says so, and the
    manager offers the plan again. A link whose making had an unknown answer is found by the
    offer's metadata, so the periodic settling does not send the dead link again."""
    session_id = _text(session, "id")
    offer_id = _id_in(session.get("metadata") or {}, "offer")
    if not session_id and offer_id is None:
        return
    lapsing = Offer.objects.filter(
        status__in=[Offer.Status.PENDING, Offer.Status.UNKNOWN, Offer.Status.SENT]
    )
    lapsing = lapsing.filter(stripe_checkout_session_id=session_id) | lapsing.filter(
        pk=offer_id, stripe_checkout_session_id__in=["", session_id]
    )
    offer = lapsing.select_related("plan").first()
    if offer is None:
        return
    if Offer.objects.filter(pk=offer.pk, status=offer.status).update(
        status=Offer.Status.EXPIRED, checkout_url=""
    ):
        event_record(
            subject=offer.business,
            action="offer_expired",
            message=f"The Checkout link for {offer.plan.name} expired unused.",
            data={"offer": offer.pk},
        )


def _subscription_changed(obj: dict, at: datetime | None) -> None:
    subscription = gateway.billing_subscription(obj)
    status = Subscription.STRIPE_STATUS.get(subscription.status)
    row = _subscription_row(
        subscription.id,
        subscription.metadata,
        customer=subscription.customer,
        price=subscription.price,
    )
    if row is None or status is None:
        return
    _offer_subscribed(row)
    if row.status == Subscription.Status.CANCELLED or not _is_newer(row, at, status):
        return
    before = (row.status, row.plan_id)
    plan = (
        Plan.objects.filter(stripe_price_id=subscription.price).first()
        if subscription.price
        else None
    )
    row.plan = plan or row.plan
    row.status = status
    row.cancel_at_period_end = subscription.cancel_at_period_end
    row.current_period_end = subscription.current_period_end
    row.collection_method = subscription.collection_method or row.collection_method
    row.stripe_customer_id = subscription.customer or row.stripe_customer_id
    row.stripe_updated_at = at
    if status in (Subscription.Status.ACTIVE, Subscription.Status.TRIALING) and not row.started_at:
        row.started_at = at
    if status == Subscription.Status.CANCELLED:
        row.cancelled_at = at
    row.full_clean()
    row.save()
    if before != (row.status, row.plan_id):
        event_record(
            subject=row,
            action="subscription_status",
            message=f"Stripe says: {row.get_status_display().lower()} on {row.plan.name}.",
        )
        entitlements_changed()


def _invoice_row(obj: dict) -> Invoice | None:
    invoice_id = _text(obj, "id")
    details = obj.get("subscription_details")
    if not isinstance(details, dict):
        parent = obj.get("parent") if isinstance(obj.get("parent"), dict) else {}
        details = parent.get("subscription_details")
    details = details if isinstance(details, dict) else {}
    subscription_id = _text(obj, "subscription") or _text(details, "subscription")
    row = _subscription_row(
        subscription_id, details.get("metadata") or {}, customer=_text(obj, "customer")
    )
    if not invoice_id or row is None:
        return None
    invoice, _ = Invoice.objects.select_for_update().get_or_create(
        stripe_invoice_id=invoice_id,
        defaults={"business_id": row.business_id, "subscription": row},
    )
    if invoice.status != Invoice.Status.PAID:
        invoice.number = _text(obj, "number", 100) or invoice.number
        invoice.currency = (_text(obj, "currency", 3) or invoice.currency).upper()
        invoice.amount_due = _number(obj, "amount_due")
        invoice.tax = _number(obj, "tax")
        invoice.hosted_invoice_url = _hosted_url(obj)
        due = obj.get("due_date")
        invoice.due_at = gateway.unix_time(due) if due is not None else invoice.due_at
    return invoice


def _hosted_url(obj: dict) -> str:
    """Stripe's page for the invoice; only an https (or, for the fake, http) address is kept."""
    url = _text(obj, "hosted_invoice_url", 1000)
    return url if url.startswith(("https://", "http://")) else ""


def _invoice_finalized(obj: dict, at: datetime | None) -> None:
    invoice = _invoice_row(obj)
    if invoice is None:
        return
    if invoice.status == Invoice.Status.DRAFT:
        invoice.status = Invoice.Status.OPEN
    invoice.save()


def _invoice_paid(obj: dict, at: datetime | None) -> None:
    invoice = _invoice_row(obj)
    if invoice is None:
        return
    if invoice.status == Invoice.Status.PAID:
        return
    transitions = obj.get("status_transitions")
    transitions = transitions if isinstance(transitions, dict) else {}
    invoice.status = Invoice.Status.PAID
    invoice.amount_paid = _number(obj, "amount_paid") or invoice.amount_due
    invoice.paid_at = gateway.unix_time(transitions.get("paid_at")) or at
    invoice.save()
    event_record(
        subject=invoice.subscription,
        action="invoice_paid",
        message=f"Invoice {invoice} paid.",
    )
    dunning.invoice_settled(invoice=invoice, at=at)


def _invoice_payment_failed(obj: dict, at: datetime | None) -> None:
    invoice = _invoice_row(obj)
    if invoice is None:
        return
    if invoice.status == Invoice.Status.PAID:
        return  # a late word about an attempt before the payment
    invoice.status = Invoice.Status.OPEN
    if at and (invoice.payment_failed_at is None or at > invoice.payment_failed_at):
        invoice.payment_failed_at = at
    invoice.save()
    dunning.dunning_start(invoice=invoice, at=at, why="a payment failed")


def _invoice_voided(obj: dict, at: datetime | None) -> None:
    invoice = _invoice_row(obj)
    if invoice is None or invoice.status == Invoice.Status.PAID:
        return
    invoice.status = Invoice.Status.VOID
    invoice.save()
    dunning.invoice_settled(invoice=invoice, at=at)


EVENT_HANDLERS = {
    "checkout.session.completed": _checkout_completed,
    "checkout.session.expired": _checkout_expired,
    "customer.subscription.created": _subscription_changed,
    "customer.subscription.updated": _subscription_changed,
    "customer.subscription.deleted": _subscription_changed,
    "invoice.finalized": _invoice_finalized,
    "invoice.paid": _invoice_paid,
    "invoice.payment_failed": _invoice_payment_failed,
    "invoice.voided": _invoice_voided,
}
