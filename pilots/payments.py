"""Reward payments: creation with fraud holds, and what people may do with them.

One payment per eligible feedback (a unique row), created in the same
transaction as the feedback. Payouts (pilots/payouts.py) pay them; a person
may retry, hold, release, cancel or mark one paid by hand, but never while
its payout's outcome at Stripe is unsettled: that would risk paying twice.
"""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from core.privacy import contact_hash
from core.services import Actor, event_record
from pilots import stripe_gateway as gateway
from pilots.claims import reward_message_queue
from pilots.models import Feedback, Payment, Payout, RewardRecipient
from pilots.payouts import payout_ask_stripe
from pilots.selectors import local_day_bounds

logger = logging.getLogger(__name__)


class PaymentError(ValidationError):
    """A payment change its current status does not allow."""


# ------------------------------------------------------------------------------
# Recipients and payments
# ------------------------------------------------------------------------------
def recipient_for_contact(*, email: str, phone: str) -> RewardRecipient:
    """The recipient with this (normalised) contact, made on first use; the contact is refreshed.

    Finding a recipient by a contact proves nothing about who typed it: the
    recipient's Stripe account is reached only through a claim link sent to
    the contact (pilots.claims).
    """
    recipient, created = RewardRecipient.objects.get_or_create(
        contact_hash=contact_hash(email or phone),
        defaults={"contact_email": email, "contact_phone": phone},
    )
    if not created and (recipient.contact_email, recipient.contact_phone) != (email, phone):
        recipient.contact_email, recipient.contact_phone = email, phone
        recipient.save(update_fields=["contact_email", "contact_phone", "updated_at"])
    return recipient


def _hold_reason(*, recipient: RewardRecipient, feedback: Feedback) -> str:
    """The fraud rule this new reward would break, or "" when it breaks none."""
    opens, closes = local_day_bounds(timezone.localdate(), timezone.localdate())
    today = Payment.objects.filter(created_at__gte=opens, created_at__lt=closes).exclude(
        status=Payment.Status.CANCELLED
    )
    limits = (
        (
            today.filter(recipient=recipient, business=feedback.business),
            settings.REWARD_LIMIT_PER_RECIPIENT_BUSINESS_DAY,
            "more than {limit} reward(s) for this recipient at this business today",
        ),
        (
            today.filter(recipient=recipient),
            settings.REWARD_LIMIT_PER_RECIPIENT_DAY,
            "more than {limit} rewards for this recipient today",
        ),
        (
            today.filter(client_hash=feedback.client_hash),
            settings.REWARD_LIMIT_PER_CLIENT_DAY,
            "more than {limit} rewards from one device or network today",
        ),
    )
    for earlier, limit, reason in limits:
        if earlier.count() >= limit:
            return reason.format(limit=limit)
    return ""


def payment_create_for_feedback(*, feedback: Feedback) -> Payment:
    """The pending (or held) payment of an eligible feedback. Runs in the caller's transaction."""
    if not feedback.reward_eligible:
        raise PaymentError(gettext("Only reward-eligible feedback earns a payment."))
    recipient = recipient_for_contact(email=feedback.contact_email, phone=feedback.contact_phone)
    recipient = RewardRecipient.objects.select_for_update().get(pk=recipient.pk)
    reason = _hold_reason(recipient=recipient, feedback=feedback)
    payment = Payment(
        feedback=feedback,
        recipient=recipient,
        business=feedback.business,
        pilot=feedback.pilot,
        client_hash=feedback.client_hash,
        amount=feedback.pilot.reward_amount,
        currency=feedback.pilot.reward_currency,
        status=Payment.Status.HELD if reason else Payment.Status.PENDING,
        hold_reason=reason,
    )
    payment.full_clean()
    payment.save()
    event_record(
        subject=payment,
        action="payment_held" if reason else "payment_created",
        message=f"Held for review: {reason}." if reason else "Reward earned; waiting for payout.",
    )
    return payment


# Why a payment action is refused, per action: its payout is still open, or its status.
_REFUSED_WHILE_PAYOUT_OPEN = {
    "hold": gettext_lazy(
        "Cannot hold payment %(payment)s: its payout %(payout)s is %(status)s, so Stripe may "
        "still make (or have made) the transfer. Use “Ask Stripe now” on payout %(payout)s first."
    ),
    "release": gettext_lazy(
        "Cannot release payment %(payment)s: its payout %(payout)s is %(status)s, so Stripe may "
        "still make (or have made) the transfer. Use “Ask Stripe now” on payout %(payout)s first."
    ),
    "cancel": gettext_lazy(
        "Cannot cancel payment %(payment)s: its payout %(payout)s is %(status)s, so Stripe may "
        "still make (or have made) the transfer. Use “Ask Stripe now” on payout %(payout)s first."
    ),
    "retry": gettext_lazy(
        "Cannot retry payment %(payment)s: its payout %(payout)s is %(status)s, so Stripe may "
        "still make (or have made) the transfer. Use “Ask Stripe now” on payout %(payout)s first."
    ),
    "mark paid": gettext_lazy(
        "Cannot mark paid payment %(payment)s: its payout %(payout)s is %(status)s, so Stripe may "
        "still make (or have made) the transfer. Use “Ask Stripe now” on payout %(payout)s first."
    ),
}
_REFUSED_IN_STATUS = {
    "hold": gettext_lazy(
        "Cannot hold payment %(payment)s: it is %(status)s; only failed or pending payments can be."
    ),
    "release": gettext_lazy(
        "Cannot release payment %(payment)s: it is %(status)s; "
        "only held for review payments can be."
    ),
    "cancel": gettext_lazy(
        "Cannot cancel payment %(payment)s: it is %(status)s; "
        "only failed or held for review or pending payments can be."
    ),
    "retry": gettext_lazy(
        "Cannot retry payment %(payment)s: it is %(status)s; "
        "only failed or pending payments can be."
    ),
    "mark paid": gettext_lazy(
        "Cannot mark paid payment %(payment)s: it is %(status)s; "
        "only failed or held for review or pending payments can be."
    ),
}


def _payment_locked(payment: Payment, allowed: set[str], verb: str) -> Payment:
    payment = (
        Payment.objects.select_for_update(of=("self",)).select_related("payout").get(pk=payment.pk)
    )
    payout = payment.payout
    if payout is not None and not payout.is_settled:
        raise PaymentError(
            _REFUSED_WHILE_PAYOUT_OPEN[verb]
            % {
                "payment": payment.pk,
                "payout": payout.pk,
                "status": payout.get_status_display().lower(),
            }
        )
    if payment.status not in allowed:
        raise PaymentError(
            _REFUSED_IN_STATUS[verb]
            % {"payment": payment.pk, "status": payment.get_status_display().lower()}
        )
    return payment


def _payment_change(
    payment: Payment, *, actor: Actor, action: str, message: str, **fields
) -> Payment:
    for name, value in fields.items():
        setattr(payment, name, value)
    payment.full_clean()
    payment.save(update_fields=[*fields, "updated_at"])
    event_record(subject=payment, action=action, message=message, actor=actor)
    return payment


@transaction.atomic
def payment_hold(*, payment: Payment, actor: Actor = None, reason: str = "") -> Payment:
    payment = _payment_locked(payment, {Payment.Status.PENDING, Payment.Status.FAILED}, "hold")
    reason = reason or "held by a manager"
    return _payment_change(
        payment,
        actor=actor,
        action="payment_held",
        message=f"Held: {reason}.",
        status=Payment.Status.HELD,
        hold_reason=reason,
    )


@transaction.atomic
def payment_release(*, payment: Payment, actor: Actor = None) -> Payment:
    """Let a held payment go to the next payout run, and tell its recipient how to claim it."""
    payment = _payment_locked(payment, {Payment.Status.HELD}, "release")
    payment = _payment_change(
        payment,
        actor=actor,
        action="payment_released",
        message="Released for payout.",
        status=Payment.Status.PENDING,
        hold_reason="",
    )
    reward_message_queue(payment=payment)
    return payment


@transaction.atomic
def payment_cancel(*, payment: Payment, actor: Actor = None, reason: str = "") -> Payment:
    """Never pay this reward."""
    payment = _payment_locked(
        payment, {Payment.Status.PENDING, Payment.Status.HELD, Payment.Status.FAILED}, "cancel"
    )
    return _payment_change(
        payment,
        actor=actor,
        action="payment_cancelled",
        message="Cancelled" + (f": {reason}." if reason else "."),
        status=Payment.Status.CANCELLED,
    )


@transaction.atomic
def payment_retry(*, payment: Payment, actor: Actor = None) -> Payment:
    """Send a failed payment (its payout settled without a transfer) with the next payout run."""
    payment = _payment_locked(payment, {Payment.Status.FAILED, Payment.Status.PENDING}, "retry")
    return _payment_change(
        payment,
        actor=actor,
        action="payment_retry",
        message="Queued for the next payout run.",
        status=Payment.Status.PENDING,
        last_error="",
    )


@transaction.atomic
def payment_mark_paid(*, payment: Payment, reason: str, actor: Actor = None) -> Payment:
    """Record a reward paid outside Stripe (cash, Swish); never sent by the payout run again.

    Only when no Stripe transfer can exist for it: it was never in a payout,
    or Stripe has confirmed that its payout made none (or reversed it).
    """
    if not reason.strip():
        raise PaymentError(gettext("Say why the payment is marked paid by hand."))
    payment = _payment_locked(
        payment, {Payment.Status.PENDING, Payment.Status.HELD, Payment.Status.FAILED}, "mark paid"
    )
    payout = payment.payout
    if payout is not None and not (
        payout.no_transfer_confirmed_at or payout.status == Payout.Status.REVERSED
    ):
        raise PaymentError(
            gettext(
                "Cannot mark payment %(payment)s paid by hand: Stripe has not confirmed that "
                "payout %(payout)s made no transfer."
            )
            % {"payment": payment.pk, "payout": payout.pk}
        )
    return _payment_change(
        payment,
        actor=actor,
        action="payment_paid_manually",
        message=f"Marked paid by hand: {reason.strip()}",
        status=Payment.Status.PAID,
        paid_at=timezone.now(),
        manual_reason=reason.strip(),
    )


def payment_ask_stripe(*, payment: Payment, actor: Actor = None) -> str:
    """*Ask Stripe now* from a payment: settle its unsettled payout at once."""
    payment = Payment.objects.get(pk=payment.pk)
    if payment.payout_id is None:
        raise PaymentError(
            gettext("Payment %(payment)s has not been sent to Stripe: nothing to ask.")
            % {"payment": payment.pk}
        )
    payout = Payout.objects.get(pk=payment.payout_id)
    if payout.status not in (Payout.Status.UNKNOWN, Payout.Status.NEEDS_ATTENTION):
        raise PaymentError(
            gettext(
                "Payout %(payout)s of payment %(payment)s is %(status)s: there is nothing to "
                "ask Stripe."
            )
            % {
                "payout": payout.pk,
                "payment": payment.pk,
                "status": payout.get_status_display().lower(),
            }
        )
    return payout_ask_stripe(payout=payout, actor=actor)


# ------------------------------------------------------------------------------
# Claiming
# ------------------------------------------------------------------------------
class ContactNotVerified(PaymentError):
    """Only someone who opened a link sent to the contact may attach a Stripe account."""


@transaction.atomic
def recipient_claim_start(*, recipient: RewardRecipient, refresh_url: str, return_url: str) -> str:
    """Make (or reuse) the recipient's Express account; return Stripe's onboarding address.

    Refused until the contact is proven (``recipient_contact_verify``).
    """
    recipient = RewardRecipient.objects.select_for_update().get(pk=recipient.pk)
    if recipient.contact_verified_at is None:
        raise ContactNotVerified("The claim link sent to the contact has not been opened.")
    if not recipient.stripe_account_id:
        account = gateway.account_create(
            email=recipient.contact_email, idempotency_key=f"pilotops-account-{recipient.pk}"
        )
        recipient.stripe_account_id = account.id
        recipient.onboarding = (
            RewardRecipient.Onboarding.PAYABLE
            if account.payouts_enabled
            else RewardRecipient.Onboarding.PENDING
        )
        recipient.save(update_fields=["stripe_account_id", "onboarding", "updated_at"])
        event_record(subject=recipient, action="recipient_account", message="Stripe account made.")
    return gateway.account_link_create(
        account_id=recipient.stripe_account_id, refresh_url=refresh_url, return_url=return_url
    )
