"""Stripe's word: webhook events stored once and applied once, and the weekly reconciliation.

A webhook settles a payout in any state, early or late (pilots/payouts.py
``payout_paid`` and ``payout_reversed``); an account event moves a
recipient's onboarding only forwards in Stripe's time.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.services import event_record
from pilots import stripe_gateway as gateway
from pilots.models import Payout, RewardRecipient, StripeEvent
from pilots.payouts import payout_paid, payout_reversed
from support.models import Priority, Ticket
from support.services import ticket_create

logger = logging.getLogger(__name__)


class StripeEventFailed(Exception):
    """Processing raised; the event is kept with its error so Stripe (or a person) retries."""


def stripe_event_receive(*, event: gateway.WebhookEvent) -> StripeEvent:
    """Store a verified event once by its id and apply it once."""
    with transaction.atomic():
        stored, created = StripeEvent.objects.get_or_create(
            stripe_id=event.id,
            defaults={
                "type": event.type,
                "payload": event.payload,
                "stripe_created_at": event.created,
            },
        )
        if not created:
            StripeEvent.objects.filter(pk=stored.pk).update(deliveries=F("deliveries") + 1)
    return stripe_event_process(stripe_event=stored)


def stripe_event_process(*, stripe_event: StripeEvent) -> StripeEvent:
    """Apply a stored event if it has not been applied; record any error and raise."""
    try:
        with transaction.atomic():
            stored = StripeEvent.objects.select_for_update().get(pk=stripe_event.pk)
            if stored.processed_at is not None:
                return stored
            handler = EVENT_HANDLERS.get(stored.type)
            if handler is not None:
                handler(stored.payload["data"]["object"], stored.stripe_created_at)
            stored.processed_at, stored.error = timezone.now(), ""
            stored.save(update_fields=["processed_at", "error"])
            return stored
    except Exception as error:
        StripeEvent.objects.filter(pk=stripe_event.pk).update(
            error=f"{type(error).__name__}: {error}"
        )
        logger.exception("Stripe event %s could not be processed", stripe_event.stripe_id)
        raise StripeEventFailed(str(error)) from error


def _account_updated(account: dict, at: datetime | None) -> None:
    if not account.get("id"):
        return
    recipient = (
        RewardRecipient.objects.select_for_update().filter(stripe_account_id=account["id"]).first()
    )
    if recipient is None:
        return
    if at and recipient.account_updated_at and at <= recipient.account_updated_at:
        return  # an older state than the one already applied
    if account.get("payouts_enabled"):
        onboarding = RewardRecipient.Onboarding.PAYABLE
    elif account.get("details_submitted"):
        onboarding = RewardRecipient.Onboarding.RESTRICTED
    else:
        onboarding = RewardRecipient.Onboarding.PENDING
    recipient.onboarding, recipient.account_updated_at = onboarding, at
    recipient.save(update_fields=["onboarding", "account_updated_at", "updated_at"])
    event_record(
        subject=recipient,
        action="recipient_onboarding",
        message=f"Stripe says: {recipient.get_onboarding_display().lower()}.",
    )


def _text(obj: dict, key: str) -> str:
    """A string field of a Stripe object, or "" when absent or of another type."""
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _payout_of_transfer(transfer: dict) -> Payout | None:
    """The payout a transfer paid: by its id, or by the transfer group the payout sent."""
    transfer_id = _text(transfer, "id")
    if not transfer_id:
        return None
    group = _text(transfer, "transfer_group")
    return Payout.objects.filter(stripe_transfer_id=transfer_id).first() or (
        Payout.objects.filter(idempotency_key=group).first() if group else None
    )


def _transfer_created(transfer: dict, at: datetime | None) -> None:
    payout = _payout_of_transfer(transfer)
    if payout is not None:
        payout_paid(payout_id=payout.pk, transfer_id=transfer["id"], how="Stripe's webhook")


def _transfer_reversed(transfer: dict, at: datetime | None) -> None:
    payout = _payout_of_transfer(transfer)
    if payout is not None:
        payout_reversed(payout_id=payout.pk, transfer_id=transfer["id"])


def _transfer_updated(transfer: dict, at: datetime | None) -> None:
    if transfer.get("reversed") is True:
        _transfer_reversed(transfer, at)
    else:
        _transfer_created(transfer, at)


EVENT_HANDLERS = {
    "account.updated": _account_updated,
    "transfer.created": _transfer_created,
    "transfer.reversed": _transfer_reversed,
    "transfer.updated": _transfer_updated,
}


def event_handlers_register(handlers: dict) -> None:
    """Another app handles more event types (billing: subscriptions, invoices) at this endpoint.

    Called from its AppConfig.ready; a type has one handler.
    """
    for event_type, handler in handlers.items():
        if EVENT_HANDLERS.get(event_type, handler) is not handler:
            raise ValueError(f"{event_type} already has a handler")
        EVENT_HANDLERS[event_type] = handler


# ------------------------------------------------------------------------------
# Reconciliation
# ------------------------------------------------------------------------------
def stripe_reconcile(*, start: datetime, end: datetime) -> dict[str, int]:
    """Compare our paid payouts with Stripe's transfers in [start, end); a ticket per mismatch."""
    theirs = {
        transfer.id: transfer
        for transfer in gateway.transfers_between(start=start, end=end)
        if transfer.transfer_group.startswith("pilotops-payout-")
    }
    ours = {
        payout.stripe_transfer_id: payout
        for payout in Payout.objects.filter(
            status__in=[Payout.Status.PAID, Payout.Status.REVERSED],
            sent_at__gte=start - timedelta(hours=1),
            sent_at__lt=end,
        ).exclude(stripe_transfer_id="")
    }
    problems = []
    for transfer_id, payout in ours.items():
        transfer = theirs.get(transfer_id)
        if transfer is None and payout.paid_at and start <= payout.paid_at < end:
            problems.append(
                (
                    transfer_id,
                    f"payout {payout.pk} is paid here but Stripe has no transfer {transfer_id}",
                )
            )
        elif transfer is not None and transfer.amount != payout.amount:
            problems.append(
                (
                    transfer_id,
                    f"payout {payout.pk} is {payout.amount} öre; "
                    f"Stripe's transfer {transfer_id} is {transfer.amount}",
                )
            )
    for transfer_id, transfer in theirs.items():
        if (
            transfer_id not in ours
            and not Payout.objects.filter(stripe_transfer_id=transfer_id).exists()
        ):
            problems.append(
                (
                    transfer_id,
                    f"Stripe made transfer {transfer_id} ({transfer.amount} öre) "
                    "that no paid payout here records",
                )
            )
    for transfer_id, text in problems:
        ticket_create(
            title="Stripe reconciliation: a transfer does not match",
            description=text,
            priority=Priority.P1,
            category=Ticket.Category.PAYMENTS,
            source=Ticket.Source.SYSTEM,
            dedupe_key=f"reconcile:{transfer_id}",
        )
    return {
        "transfers at Stripe": len(theirs),
        "paid payouts here": len(ours),
        "mismatches": len(problems),
    }
