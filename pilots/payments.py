"""Reward payments: creation with fraud holds, people's review, the payout run, Stripe's word.

The rules that keep money safe:

* one payment per eligible feedback (a unique row), created in the same
  transaction as the feedback;
* one open payout per recipient (a partial unique constraint), built under a
  row lock, so two payout runs at once cannot pay the same payments twice;
* every transfer carries the payout's idempotency key, kept on the row and
  reused on every retry, so a retried or recovered transfer is the same one;
* a payout whose answer was lost is settled by asking Stripe, never by paying
  again.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from core.metrics import PAYOUT_ATTEMPTS, PAYOUT_FAILURES
from core.privacy import contact_hash
from core.services import event_record
from pilots import stripe_gateway as gateway
from pilots.claims import reward_message_queue
from pilots.models import (
    Feedback,
    Payment,
    Payout,
    PayoutAttempt,
    PayoutSwitch,
    RewardRecipient,
    StripeEvent,
)
from pilots.selectors import local_day_bounds
from support.models import Priority, Ticket
from support.services import ticket_create

logger = logging.getLogger(__name__)

Actor = AbstractBaseUser | None


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
        raise PaymentError("Only reward-eligible feedback earns a payment.")
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


def _payment_locked(payment: Payment, allowed: set[str], verb: str) -> Payment:
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status not in allowed:
        allowed_names = " or ".join(sorted(Payment.Status(s).label.lower() for s in allowed))
        raise PaymentError(
            f"Cannot {verb} payment {payment.pk}: it is {payment.get_status_display().lower()}; "
            f"only {allowed_names} payments can be."
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
    """Send a failed payment, or one waiting after an error, with the next payout run."""
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
    """Record a reward paid outside Stripe (cash, Swish); never sent by the payout run again."""
    if not reason.strip():
        raise PaymentError("Say why the payment is marked paid by hand.")
    payment = _payment_locked(
        payment, {Payment.Status.PENDING, Payment.Status.HELD, Payment.Status.FAILED}, "mark paid"
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
        account = gateway.account_create(email=recipient.contact_email)
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


# ------------------------------------------------------------------------------
# The payout run
# ------------------------------------------------------------------------------
def payouts_enabled() -> bool:
    switch = PayoutSwitch.objects.filter(pk=PayoutSwitch.SINGLETON_ID).first()
    return switch is None or switch.payouts_enabled


@transaction.atomic
def payout_switch_set(*, enabled: bool, note: str = "", actor: Actor = None) -> PayoutSwitch:
    switch, _ = PayoutSwitch.objects.select_for_update().get_or_create(pk=PayoutSwitch.SINGLETON_ID)
    switch.payouts_enabled, switch.note = enabled, note
    switch.save()
    event_record(
        subject=switch,
        action="payouts_on" if enabled else "payouts_off",
        message=("Payouts switched on." if enabled else "Payouts switched off.")
        + (f" {note}" if note else ""),
        actor=actor,
    )
    return switch


@dataclass
class PayoutRunSummary:
    skipped: str = ""
    payouts_created: int = 0
    paid: int = 0
    retrying: int = 0
    failed: int = 0
    recovered: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.skipped:
            return f"payout run skipped: {self.skipped}"
        return (
            f"payout run: {self.payouts_created} new payout(s), {self.paid} paid, "
            f"{self.retrying} to retry, {self.failed} failed, {self.recovered} recovered"
        )


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failed attempt, at most six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def payouts_run(*, now: datetime | None = None) -> PayoutRunSummary:
    """Pay every payable recipient's pending payments; retry and recover what is due.

    Safe to run twice at once: recipients are claimed under a lock and each
    payout is sent by whoever locks it first.
    """
    summary = PayoutRunSummary()
    if not payouts_enabled():
        summary.skipped = "payouts are switched off"
        return summary
    if not gateway.is_configured():
        summary.skipped = "Stripe is not configured"
        return summary
    now = now or timezone.now()

    stuck_before = now - timedelta(minutes=settings.PAYOUT_STUCK_MINUTES)
    for payout in Payout.objects.filter(status=Payout.Status.PROCESSING, sent_at__lt=stuck_before):
        _count(summary, payout_recover(payout=payout))

    for payout in Payout.objects.filter(status=Payout.Status.PENDING).exclude(
        next_attempt_at__gt=now
    ):
        _count(summary, payout_send(payout=payout))

    recipients = (
        RewardRecipient.objects.filter(
            onboarding=RewardRecipient.Onboarding.PAYABLE,
            payments__status=Payment.Status.PENDING,
            payments__last_error="",
        )
        .distinct()
        .values_list("pk", flat=True)
    )
    for recipient_id in list(recipients):
        payout = _payout_create(recipient_id=recipient_id)
        if payout is not None:
            summary.payouts_created += 1
            _count(summary, payout_send(payout=payout))
    return summary


def _count(summary: PayoutRunSummary, outcome: str) -> None:
    if outcome == PayoutAttempt.Outcome.SUCCEEDED:
        summary.paid += 1
    elif outcome == PayoutAttempt.Outcome.RECOVERED:
        summary.recovered += 1
    elif outcome == PayoutAttempt.Outcome.TRANSIENT_ERROR:
        summary.retrying += 1
    elif outcome == PayoutAttempt.Outcome.PERMANENT_ERROR:
        summary.failed += 1


def _payout_create(*, recipient_id: int) -> Payout | None:
    """Gather the recipient's pending payments into one payout; None if another run has them."""
    try:
        with transaction.atomic():
            recipient = (
                RewardRecipient.objects.select_for_update(skip_locked=True)
                .filter(pk=recipient_id, onboarding=RewardRecipient.Onboarding.PAYABLE)
                .first()
            )
            if (
                recipient is None
                or recipient.payouts.filter(
                    status__in=[Payout.Status.PENDING, Payout.Status.PROCESSING]
                ).exists()
            ):
                return None
            payments = Payment.objects.select_for_update().filter(
                recipient=recipient, status=Payment.Status.PENDING, last_error=""
            )
            ids = list(payments.values_list("pk", flat=True))
            if not ids:
                return None
            total = Payment.objects.filter(pk__in=ids).aggregate(total=Sum("amount"))["total"]
            payout = Payout.objects.create(
                recipient=recipient,
                amount=total,
                currency="SEK",
                idempotency_key=f"pilotops-payout-{uuid.uuid4()}",
            )
            Payment.objects.filter(pk__in=ids).update(
                status=Payment.Status.PROCESSING, payout=payout, attempts=F("attempts") + 1
            )
            event_record(
                subject=payout,
                action="payout_created",
                message=f"Payout of {len(ids)} payment(s) created.",
                data={"payments": ids},
            )
            return payout
    except IntegrityError:  # another run opened a payout for this recipient first
        return None


def payout_send(*, payout: Payout) -> str:
    """Send (or send again) the payout's transfer with its idempotency key."""
    with transaction.atomic():
        payout = (
            # Lock the payout row only: locking the joined recipient too would make a
            # run that is merely checking that recipient skip this payout.
            Payout.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
            .filter(pk=payout.pk, status=Payout.Status.PENDING)
            .first()
        )
        if payout is None:
            return ""
        now = timezone.now()
        payout.status = Payout.Status.PROCESSING
        payout.attempts += 1
        payout.sent_at = now
        payout.next_attempt_at = None
        payout.save(
            update_fields=["status", "attempts", "sent_at", "next_attempt_at", "updated_at"]
        )
        request = {
            "amount": payout.amount,
            "currency": payout.currency,
            "destination": payout.recipient.stripe_account_id,
            "transfer_group": payout.transfer_group,
            "idempotency_key": payout.idempotency_key,
        }
        attempt = PayoutAttempt.objects.create(
            payout=payout, number=payout.attempts, started_at=now, request=request
        )
    try:
        transfer = gateway.transfer_create(
            amount=payout.amount,
            currency=payout.currency,
            destination=payout.recipient.stripe_account_id,
            idempotency_key=payout.idempotency_key,
            transfer_group=payout.transfer_group,
            metadata={"payout": str(payout.pk)},
        )
    except gateway.TransientStripeError as error:
        if payout.attempts >= settings.PAYOUT_MAX_ATTEMPTS:
            return _payout_failed(
                payout, attempt, f"gave up after {payout.attempts} tries: {error}"
            )
        return _payout_retry_later(payout, attempt, str(error))
    except gateway.PermanentStripeError as error:
        return _payout_failed(payout, attempt, str(error))
    return _payout_paid(payout, attempt, transfer.id, PayoutAttempt.Outcome.SUCCEEDED)


def payout_recover(*, payout: Payout) -> str:
    """Settle a payout whose answer never came, by asking Stripe; never by paying again."""
    try:
        transfer = gateway.transfer_find(transfer_group=payout.transfer_group)
    except (gateway.TransientStripeError, gateway.PermanentStripeError) as error:
        logger.warning("payout %s: could not ask Stripe: %s", payout.pk, error)
        return ""
    attempt = PayoutAttempt.objects.create(
        payout=payout,
        number=payout.attempts_made.count() + 1,
        started_at=timezone.now(),
        request={"transfer_group": payout.transfer_group, "recovery": True},
    )
    if transfer is not None:
        return _payout_paid(payout, attempt, transfer.id, PayoutAttempt.Outcome.RECOVERED)
    # Stripe never made it: send again with the same key.
    with transaction.atomic():
        Payout.objects.filter(pk=payout.pk, status=Payout.Status.PROCESSING).update(
            status=Payout.Status.PENDING, next_attempt_at=timezone.now()
        )
        _attempt_finish(attempt, PayoutAttempt.Outcome.RECOVERED, error="no transfer at Stripe")
    return payout_send(payout=payout)


def _attempt_finish(attempt: PayoutAttempt, outcome: str, *, error: str = "", transfer="") -> None:
    PAYOUT_ATTEMPTS.labels(outcome=outcome).inc()
    attempt.outcome = outcome
    attempt.error = error
    attempt.stripe_transfer_id = transfer
    attempt.finished_at = timezone.now()
    attempt.save(update_fields=["outcome", "error", "stripe_transfer_id", "finished_at"])


@transaction.atomic
def _payout_paid(payout: Payout, attempt: PayoutAttempt, transfer_id: str, outcome: str) -> str:
    payout = Payout.objects.select_for_update().get(pk=payout.pk)
    _attempt_finish(attempt, outcome, transfer=transfer_id)
    if payout.status in (Payout.Status.PAID, Payout.Status.REVERSED):
        return outcome
    now = timezone.now()
    payout.status, payout.stripe_transfer_id, payout.paid_at = Payout.Status.PAID, transfer_id, now
    payout.last_error = ""
    payout.save(
        update_fields=["status", "stripe_transfer_id", "paid_at", "last_error", "updated_at"]
    )
    payout.payments.update(
        status=Payment.Status.PAID, paid_at=now, stripe_transfer_id=transfer_id, last_error=""
    )
    event_record(subject=payout, action="payout_paid", message="Paid: Stripe made the transfer.")
    return outcome


@transaction.atomic
def _payout_retry_later(payout: Payout, attempt: PayoutAttempt, error: str) -> str:
    _attempt_finish(attempt, PayoutAttempt.Outcome.TRANSIENT_ERROR, error=error)
    Payout.objects.filter(pk=payout.pk, status=Payout.Status.PROCESSING).update(
        status=Payout.Status.PENDING,
        next_attempt_at=timezone.now() + backoff(payout.attempts),
        last_error=error,
    )
    logger.warning("payout %s: transient Stripe error, will retry: %s", payout.pk, error)
    return PayoutAttempt.Outcome.TRANSIENT_ERROR


@transaction.atomic
def _payout_failed(payout: Payout, attempt: PayoutAttempt, error: str) -> str:
    _attempt_finish(attempt, PayoutAttempt.Outcome.PERMANENT_ERROR, error=error)
    example = payout.payments.select_related("business", "pilot").first()
    Payout.objects.filter(pk=payout.pk).update(status=Payout.Status.FAILED, last_error=error)
    payout.payments.update(status=Payment.Status.PENDING, payout=None, last_error=error)
    event_record(subject=payout, action="payout_failed", message=f"Failed: {error}"[:500])
    payout_failure_reported(payout=payout, error=error, example=example)
    return PayoutAttempt.Outcome.PERMANENT_ERROR


def payout_failure_reported(*, payout: Payout, error: str, example: Payment | None) -> None:
    """Tell people a payout failed for good: a support ticket (one per payout) and the log.

    The failure is also in the payout's history and on its payments (pending
    with the error, waiting for a manager's retry).
    """
    logger.error("payout %s failed permanently: %s", payout.pk, error)
    PAYOUT_FAILURES.inc()
    ticket_create(
        title=f"Reward payout {payout.pk} failed",
        description=f"Stripe refused the transfer for good: {error}\n"
        "The payments wait, pending with this error, for a retry from the admin.",
        priority=Priority.P2,
        category=Ticket.Category.PAYMENTS,
        source=Ticket.Source.SYSTEM,
        business=example.business if example else None,
        pilot=example.pilot if example else None,
        dedupe_key=f"payout-failed:{payout.pk}",
    )


# ------------------------------------------------------------------------------
# Stripe webhooks
# ------------------------------------------------------------------------------
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
    if not _text(transfer, "id"):
        return None
    return (
        Payout.objects.select_for_update().filter(stripe_transfer_id=transfer["id"]).first()
        or Payout.objects.select_for_update()
        .filter(idempotency_key=_text(transfer, "transfer_group") or "-")
        .first()
    )


def _transfer_created(transfer: dict, at: datetime | None) -> None:
    payout = _payout_of_transfer(transfer)
    if payout is None or payout.status not in (Payout.Status.PENDING, Payout.Status.PROCESSING):
        return
    attempt = PayoutAttempt.objects.create(
        payout=payout,
        number=payout.attempts_made.count() + 1,
        started_at=timezone.now(),
        request={"webhook": "transfer.created"},
    )
    _payout_paid(payout, attempt, transfer["id"], PayoutAttempt.Outcome.RECOVERED)


def _transfer_reversed(transfer: dict, at: datetime | None) -> None:
    payout = _payout_of_transfer(transfer)
    if payout is None or payout.status == Payout.Status.REVERSED:
        return
    payout.status, payout.stripe_transfer_id = Payout.Status.REVERSED, transfer["id"]
    payout.last_error = "the transfer was reversed at Stripe"
    payout.save(update_fields=["status", "stripe_transfer_id", "last_error", "updated_at"])
    payout.payments.update(status=Payment.Status.FAILED, last_error=payout.last_error)
    event_record(subject=payout, action="payout_reversed", message="Stripe reversed the transfer.")


def _transfer_updated(transfer: dict, at: datetime | None) -> None:
    if transfer.get("reversed"):
        _transfer_reversed(transfer, at)


EVENT_HANDLERS = {
    "account.updated": _account_updated,
    "transfer.created": _transfer_created,
    "transfer.reversed": _transfer_reversed,
    "transfer.updated": _transfer_updated,
}


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
