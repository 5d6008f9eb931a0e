"""Dunning: a failed or overdue invoice opens one P2 ticket and tells the café once; after
the grace period (BILLING_GRACE_DAYS) the plan's features switch off and the subscription
is past due. Nothing is deleted; a payment restores everything.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.models import Invoice, Subscription
from billing.services import entitlements_changed
from core.maintenance import Counts
from core.money import format_money
from core.outbox import email_queue
from core.services import event_record
from support.models import Priority, Ticket
from support.services import ticket_create

UNSETTLED = (Invoice.Status.OPEN, Invoice.Status.DRAFT)


def dunning_start(*, invoice: Invoice, at: datetime | None, why: str) -> bool:
    """Open the ticket and tell the café, once per invoice; whether this call did it."""
    now = timezone.now()
    started = Invoice.objects.filter(
        pk=invoice.pk, dunning_started_at__isnull=True, status__in=UNSETTLED
    ).update(dunning_started_at=now)
    if not started:
        return False
    subscription = Subscription.objects.select_related("business", "plan").get(
        pk=invoice.subscription_id
    )
    Subscription.objects.filter(pk=subscription.pk, past_due_since__isnull=True).update(
        past_due_since=at or now
    )
    business = subscription.business
    amount = format_money(invoice.amount_due, invoice.currency)
    ticket_create(
        title=f"Unpaid invoice: {business.name}",
        description=(
            f"Invoice {invoice} ({amount}) for the {subscription.plan.name} plan is unpaid: "
            f"{why}. The plan's features switch off after {settings.BILLING_GRACE_DAYS} days "
            f"without payment. {invoice.hosted_invoice_url}"
        ),
        priority=Priority.P2,
        category=Ticket.Category.PAYMENTS,
        source=Ticket.Source.SYSTEM,
        business=business,
        dedupe_key=f"billing:invoice:{invoice.stripe_invoice_id}",
    )
    if business.contact_email:
        with translation.override(business.language):
            email_queue(
                to=[business.contact_email],
                subject=_("Your Pilot Ops invoice is unpaid"),
                body=_(
                    "We have not received payment of %(amount)s for your %(plan)s plan. "
                    "Please pay within %(days)s days to keep your features on:"
                )
                % {
                    # in the café's language: "748,75 kr", not "SEK 748.75"
                    "amount": format_money(invoice.amount_due, invoice.currency),
                    "plan": subscription.plan.name,
                    "days": settings.BILLING_GRACE_DAYS,
                }
                + f"\n\n{invoice.hosted_invoice_url}\n",
                purpose="billing_dunning",
            )
    event_record(
        subject=subscription,
        action="dunning_started",
        message=f"Invoice {invoice} unpaid ({why}): ticket opened, café told.",
    )
    return True


def invoice_settled(*, invoice: Invoice, at: datetime | None) -> None:
    """A paid (or voided) invoice: with nothing else unpaid, the subscription is restored."""
    subscription = Subscription.objects.select_for_update().get(pk=invoice.subscription_id)
    still_unpaid = Invoice.objects.filter(
        subscription=subscription, status__in=UNSETTLED, dunning_started_at__isnull=False
    ).exclude(pk=invoice.pk)
    if still_unpaid.exists():
        return
    restored = subscription.features_suspended_at is not None
    subscription.past_due_since = None
    subscription.features_suspended_at = None
    newer = subscription.stripe_updated_at is None or (
        at is not None and at >= subscription.stripe_updated_at
    )
    if newer and subscription.status in (
        Subscription.Status.PAST_DUE,
        Subscription.Status.INCOMPLETE,
    ):
        subscription.status = Subscription.Status.ACTIVE
        subscription.stripe_updated_at = at or subscription.stripe_updated_at
        subscription.started_at = subscription.started_at or at
        restored = True
    subscription.save()
    if restored:
        event_record(
            subject=subscription,
            action="subscription_restored",
            message="Paid: the plan's features are on again.",
        )
    entitlements_changed()


def dunning_sweep(*, now: datetime) -> Counts:
    """Start dunning for overdue invoices; switch features off once the grace period ran out."""
    summary = Counts()
    overdue = Invoice.objects.filter(
        status=Invoice.Status.OPEN, due_at__lt=now, dunning_started_at__isnull=True
    )
    for invoice in overdue:
        with transaction.atomic():
            if dunning_start(invoice=invoice, at=invoice.due_at, why="it is overdue"):
                summary.add("overdue invoices")
    grace_ended = Subscription.objects.filter(
        past_due_since__lte=now - timedelta(days=settings.BILLING_GRACE_DAYS),
        features_suspended_at__isnull=True,
        status__in=Subscription.ENTITLED,
    )
    for subscription_id in grace_ended.values_list("pk", flat=True):
        with transaction.atomic():
            suspended = grace_ended.filter(pk=subscription_id).update(
                features_suspended_at=now, status=Subscription.Status.PAST_DUE
            )
            if suspended:
                subscription = Subscription.objects.get(pk=subscription_id)
                event_record(
                    subject=subscription,
                    action="subscription_suspended",
                    message=f"Unpaid for {settings.BILLING_GRACE_DAYS} days: the plan's "
                    "features are off; nothing is deleted.",
                )
                entitlements_changed()
                summary.add("subscriptions past due, features off")
    return summary
