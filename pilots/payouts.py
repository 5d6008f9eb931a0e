"""Payouts: one Stripe transfer per recipient, paid at most once, settled only by Stripe's word.

The rules that keep money safe:

* one open payout per recipient (a partial unique constraint), built under a
  row lock, so two runs cannot gather the same payments twice;
* one payout run at a time across the installation (a lease), so beat, the
  admin's button and the command never overlap; payouts are still locked one
  by one, because webhooks and people act at the same time;
* every transfer request carries the payout's idempotency key, the same on
  every try, and its ``transfer_group``, so Stripe can be asked about it;
* a request whose answer was lost (timeout, 5xx, a broken connection, a
  worker killed between request and answer) leaves the payout *unknown*,
  never *failed*: the next run asks Stripe. A transfer found is *paid*; no
  transfer means it is sent again under the same key, after a backoff;
* after PAYOUT_MAX_ATTEMPTS requests without a settled answer the payout
  *needs attention*: no more requests, but every run keeps asking Stripe;
* only a definitive refusal, or Stripe confirming that no transfer exists
  once every try is spent, makes a payout *failed*;
* Stripe's webhooks settle a payout in any state, early or late; a paid
  payout never goes back (a reversal is Stripe's word too).

Every transition is a conditional update from the state it expects, and is
written to the payout's history.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from core.leases import LeaseLost, lease_held
from core.metrics import PAYOUT_ATTEMPTS, PAYOUT_FAILURES
from core.services import Actor, event_record
from pilots import stripe_gateway as gateway
from pilots.models import Payment, Payout, PayoutAttempt, PayoutSwitch, RewardRecipient
from support.models import Priority, Ticket
from support.services import ticket_create

logger = logging.getLogger(__name__)


RUN_LEASE = "pilots.payout-run"

# What one step of the run did to a payout.
PAID = "paid"
UNKNOWN = "unknown"
RETRY = "retry"
ATTENTION = "needs attention"
FAILED = "failed"


# ------------------------------------------------------------------------------
# The switch
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


# ------------------------------------------------------------------------------
# The run
# ------------------------------------------------------------------------------
@dataclass
class PayoutRunSummary:
    skipped: str = ""
    payouts_created: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    abandoned: int = 0

    def count(self, outcome: str) -> None:
        if outcome:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    @property
    def counts(self) -> dict[str, int]:
        return {"payouts created": self.payouts_created, **self.outcomes}

    def __str__(self) -> str:
        if self.skipped:
            return f"payout run skipped: {self.skipped}"
        done = ", ".join(f"{number} {outcome}" for outcome, number in self.outcomes.items())
        return (
            f"payout run: {self.payouts_created} new payout(s)"
            + (
                f", {self.abandoned} left half-way by a stopped run now asked about"
                if self.abandoned
                else ""
            )
            + (f"; {done}" if done else "")
        )


def backoff(attempts: int) -> timedelta:
    """BASE, 2·BASE, 4·BASE … after each unsettled request, at most six hours."""
    base = settings.PAYOUT_BACKOFF_BASE_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 6 * 3600))


def payouts_run(*, now: datetime | None = None) -> PayoutRunSummary:
    """Settle what is unsettled, send what is due, pay every payable recipient's pending payments.

    One run at a time: a second one, while the first holds the lease, does
    nothing and says so. A run that was killed stops renewing its lease; the
    next run takes over once it expires and asks Stripe about whatever the
    killed run left half-way.
    """
    summary = PayoutRunSummary()
    if not payouts_enabled():
        summary.skipped = "payouts are switched off"
        return summary
    if not gateway.is_configured():
        summary.skipped = "Stripe is not configured"
        return summary
    with lease_held(RUN_LEASE, seconds=settings.PAYOUT_RUN_LEASE_SECONDS) as lease:
        if lease is None:
            summary.skipped = "another payout run is in progress"
            return summary
        try:
            _run(summary, lease, now or timezone.now())
        except LeaseLost as error:
            logger.warning("payout run stopped: %s", error)
            summary.skipped = "stopped: another run took over"
    return summary


def _run(summary: PayoutRunSummary, lease, now: datetime) -> None:
    summary.abandoned = payouts_abandoned_settle(now=now)
    for payout_id in list(
        Payout.objects.filter(status__in=[Payout.Status.UNKNOWN, Payout.Status.NEEDS_ATTENTION])
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        lease.renew()
        summary.count(payout_settle(payout_id=payout_id, now=now))
    for payout_id in list(
        Payout.objects.filter(status=Payout.Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)
    ):
        lease.renew()
        summary.count(payout_send(payout_id=payout_id, now=now))
    recipients = (
        RewardRecipient.objects.filter(
            onboarding=RewardRecipient.Onboarding.PAYABLE, payments__status=Payment.Status.PENDING
        )
        .distinct()
        .values_list("pk", flat=True)
    )
    for recipient_id in list(recipients):
        lease.renew()
        payout = _payout_create(recipient_id=recipient_id, now=now)
        if payout is not None:
            summary.payouts_created += 1
            summary.count(payout_send(payout_id=payout.pk, now=now))


def _payout_create(*, recipient_id: int, now: datetime) -> Payout | None:
    """Gather the recipient's pending payments into one payout; None if it has an open one."""
    try:
        with transaction.atomic():
            recipient = (
                RewardRecipient.objects.select_for_update()
                .filter(pk=recipient_id, onboarding=RewardRecipient.Onboarding.PAYABLE)
                .first()
            )
            if recipient is None or recipient.payouts.filter(status__in=Payout.UNSETTLED).exists():
                return None
            payments = Payment.objects.select_for_update().filter(
                recipient=recipient, status=Payment.Status.PENDING
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
                next_attempt_at=now,
            )
            Payment.objects.filter(pk__in=ids, status=Payment.Status.PENDING).update(
                status=Payment.Status.PROCESSING, payout=payout, attempts=F("attempts") + 1
            )
            event_record(
                subject=payout,
                action="payout_created",
                message=f"Payout of {len(ids)} payment(s) created.",
                data={"payments": ids},
            )
            return payout
    except IntegrityError:  # another process opened a payout for this recipient first
        return None


# ------------------------------------------------------------------------------
# Sending
# ------------------------------------------------------------------------------
def payout_send(*, payout_id: int, now: datetime | None = None) -> str:
    """Send the payout's transfer request (again), under its one idempotency key."""
    now = now or timezone.now()
    with transaction.atomic():
        payout = (
            # Lock the payout row only: locking the joined recipient too would make a
            # run that is merely checking that recipient skip this payout.
            Payout.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
            .filter(pk=payout_id, status=Payout.Status.PENDING)
            .first()
        )
        # The backoff is checked under the lock: a run that read this payout
        # earlier cannot send it again right after another run's attempt.
        if payout is None or (payout.next_attempt_at and payout.next_attempt_at > now):
            return ""
        payout.status = Payout.Status.PROCESSING
        payout.attempts += 1
        payout.sent_at = timezone.now()
        payout.next_attempt_at = None
        payout.save(
            update_fields=["status", "attempts", "sent_at", "next_attempt_at", "updated_at"]
        )
        attempt = PayoutAttempt.objects.create(
            payout=payout,
            number=payout.attempts,  # numbered here only, under the payout's row lock
            started_at=payout.sent_at,
            request={
                "amount": payout.amount,
                "currency": payout.currency,
                "destination": payout.recipient.stripe_account_id,
                "transfer_group": payout.transfer_group,
                "idempotency_key": payout.idempotency_key,
            },
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
        return _answer_lost(payout, attempt, f"no answer from Stripe: {error}")
    except gateway.PermanentStripeError as error:
        return _refused(payout, attempt, str(error))
    _attempt_finish(attempt, PayoutAttempt.Outcome.SUCCEEDED, transfer_id=transfer.id)
    return payout_paid(payout_id=payout.pk, transfer_id=transfer.id, how="Stripe made the transfer")


def _attempt_finish(
    attempt: PayoutAttempt, outcome: str, *, error: str = "", transfer_id: str = ""
) -> None:
    finished = PayoutAttempt.objects.filter(
        pk=attempt.pk, outcome=PayoutAttempt.Outcome.STARTED
    ).update(
        outcome=outcome, error=error, stripe_transfer_id=transfer_id, finished_at=timezone.now()
    )
    if finished:
        PAYOUT_ATTEMPTS.labels(outcome=outcome).inc()


@transaction.atomic
def _answer_lost(payout: Payout, attempt: PayoutAttempt, error: str) -> str:
    """Stripe may or may not have made the transfer: ask before anything else happens."""
    _attempt_finish(attempt, PayoutAttempt.Outcome.UNKNOWN, error=error)
    exhausted = payout.attempts >= settings.PAYOUT_MAX_ATTEMPTS
    status = Payout.Status.NEEDS_ATTENTION if exhausted else Payout.Status.UNKNOWN
    changed = Payout.objects.filter(pk=payout.pk, status=Payout.Status.PROCESSING).update(
        status=status,
        last_error=error[:2000],
        next_attempt_at=timezone.now() + backoff(payout.attempts),
    )
    if not changed:
        return ""  # a webhook settled it meanwhile
    logger.warning("payout %s: %s", payout.pk, error)
    _unsettled_recorded(payout, status, error)
    return ATTENTION if exhausted else UNKNOWN


def _unsettled_recorded(payout: Payout, status: str, error: str) -> None:
    if status == Payout.Status.NEEDS_ATTENTION:
        event_record(
            subject=payout,
            action="payout_needs_attention",
            message=f"Unsettled after {payout.attempts} requests; Stripe is asked on every run. "
            f"{error}"[:500],
        )
        _ticket_open(
            payout,
            title=f"Reward payout {payout.pk} needs attention",
            text=f"Stripe's answer to payout {payout.pk} was lost {payout.attempts} times. "
            "Pilot Ops keeps asking Stripe whether the transfer exists and settles it by itself "
            "when Stripe answers. Do not pay these rewards by hand: the transfer may exist.",
            kind="attention",
        )
    else:
        event_record(
            subject=payout,
            action="payout_unknown",
            message=f"Answer lost; the next run asks Stripe before anything else. {error}"[:500],
        )


def _refused(payout: Payout, attempt: PayoutAttempt, error: str) -> str:
    """A definitive refusal of this request. If an earlier answer was lost, Stripe decides."""
    _attempt_finish(attempt, PayoutAttempt.Outcome.REFUSED, error=error)
    reason = f"Stripe refused the transfer: {error}"
    if not payout.attempts_made.filter(outcome=PayoutAttempt.Outcome.UNKNOWN).exists():
        with transaction.atomic():
            return _failed(payout.pk, reason, expected=Payout.Status.PROCESSING)
    # An earlier request may have made the transfer under this key: ask before failing.
    try:
        transfer = gateway.transfer_find(transfer_group=payout.transfer_group)
    except (gateway.TransientStripeError, gateway.PermanentStripeError) as lookup_error:
        return _answer_lost(payout, attempt, f"{reason}; could not ask Stripe: {lookup_error}")
    if transfer is not None:
        return payout_paid(payout_id=payout.pk, transfer_id=transfer.id, how="found at Stripe")
    with transaction.atomic():
        return _failed(payout.pk, reason, expected=Payout.Status.PROCESSING)


def _failed(payout_id: int, reason: str, *, expected: str) -> str:
    """Settled: no transfer was made. The payments wait, failed, for a person."""
    now = timezone.now()
    changed = Payout.objects.filter(pk=payout_id, status=expected).update(
        status=Payout.Status.FAILED,
        last_error=reason[:2000],
        no_transfer_confirmed_at=now,
        next_attempt_at=None,
    )
    if not changed:
        return ""
    payout = Payout.objects.get(pk=payout_id)
    Payment.objects.filter(payout=payout, status=Payment.Status.PROCESSING).update(
        status=Payment.Status.FAILED, last_error=reason[:2000]
    )
    event_record(subject=payout, action="payout_failed", message=f"Failed: {reason}"[:500])
    logger.error("payout %s failed: %s", payout.pk, reason)
    PAYOUT_FAILURES.inc()
    _ticket_open(
        payout,
        title=f"Reward payout {payout.pk} failed",
        text=f"{reason}\nStripe made no transfer for this payout. Its payments are failed and "
        "wait for a manager: retry them, cancel them, or pay them another way and mark them "
        "paid by hand.",
        kind="failed",
    )
    return FAILED


def _ticket_open(payout: Payout, *, title: str, text: str, kind: str) -> None:
    example = payout.payments.select_related("business", "pilot").first()
    ticket_create(
        title=title,
        description=text,
        priority=Priority.P2,
        category=Ticket.Category.PAYMENTS,
        source=Ticket.Source.SYSTEM,
        business=example.business if example else None,
        pilot=example.pilot if example else None,
        dedupe_key=f"payout-{kind}:{payout.pk}",
    )


# ------------------------------------------------------------------------------
# Settling by asking Stripe
# ------------------------------------------------------------------------------
def payouts_abandoned_settle(*, now: datetime | None = None) -> int:
    """Payouts a stopped run left *processing* (no answer will come): now unknown, to ask about."""
    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=settings.PAYOUT_STUCK_SECONDS)
    settled = 0
    for payout_id in list(
        Payout.objects.filter(
            status=Payout.Status.PROCESSING, sent_at__lt=stuck_before
        ).values_list("pk", flat=True)
    ):
        with transaction.atomic():
            payout = (
                Payout.objects.select_for_update(skip_locked=True)
                .filter(pk=payout_id, status=Payout.Status.PROCESSING, sent_at__lt=stuck_before)
                .first()
            )
            if payout is None:
                continue  # settled meanwhile, or another process is on it
            PayoutAttempt.objects.filter(
                payout=payout, outcome=PayoutAttempt.Outcome.STARTED
            ).update(
                outcome=PayoutAttempt.Outcome.UNKNOWN,
                finished_at=now,
                error="no answer: the run sending it stopped",
            )
            exhausted = payout.attempts >= settings.PAYOUT_MAX_ATTEMPTS
            status = Payout.Status.NEEDS_ATTENTION if exhausted else Payout.Status.UNKNOWN
            reason = "the run sending it stopped before Stripe's answer came"
            Payout.objects.filter(pk=payout.pk, status=Payout.Status.PROCESSING).update(
                status=status, last_error=reason, next_attempt_at=now + backoff(payout.attempts)
            )
            _unsettled_recorded(payout, status, reason)
            settled += 1
    return settled


def payout_settle(*, payout_id: int, now: datetime | None = None) -> str:
    """Ask Stripe whether an unsettled payout's transfer exists, and act on the answer.

    No lock is held while Stripe is asked: the answer is applied with a
    conditional update from the state the payout was in when asking.
    """
    now = now or timezone.now()
    payout = Payout.objects.filter(
        pk=payout_id, status__in=[Payout.Status.UNKNOWN, Payout.Status.NEEDS_ATTENTION]
    ).first()
    if payout is None:
        return ""
    unchanged = Payout.objects.filter(pk=payout.pk, status=payout.status, attempts=payout.attempts)
    try:
        transfer = gateway.transfer_find(transfer_group=payout.transfer_group)
    except (gateway.TransientStripeError, gateway.PermanentStripeError) as error:
        unchanged.update(last_checked_at=now, last_error=f"could not ask Stripe: {error}"[:2000])
        logger.warning("payout %s: could not ask Stripe: %s", payout.pk, error)
        return UNKNOWN if payout.status == Payout.Status.UNKNOWN else ATTENTION
    if transfer is not None:
        return payout_paid(payout_id=payout.pk, transfer_id=transfer.id, how="found at Stripe")
    with transaction.atomic():
        if payout.status == Payout.Status.NEEDS_ATTENTION:
            return _failed(
                payout.pk,
                f"Stripe confirms that no transfer was made after {payout.attempts} requests "
                "whose answers were lost.",
                expected=Payout.Status.NEEDS_ATTENTION,
            )
        # Stripe has none: send again under the same key once the backoff has passed.
        changed = unchanged.update(status=Payout.Status.PENDING, last_checked_at=now)
        if changed:
            event_record(
                subject=payout,
                action="payout_not_at_stripe",
                message="Stripe has no transfer for it: sent again under the same key "
                "after the backoff.",
            )
        return RETRY if changed else ""


@transaction.atomic
def payout_paid(*, payout_id: int, transfer_id: str, how: str) -> str:
    """Stripe made the transfer: the payout and its payments are paid, from whatever state.

    A payout already paid stays as it is (a second transfer id is a problem
    for people, reported as a ticket); a reversed one stays reversed.
    """
    payout = Payout.objects.select_for_update().get(pk=payout_id)
    if payout.status == Payout.Status.REVERSED:
        return ""
    if payout.status == Payout.Status.PAID:
        if payout.stripe_transfer_id != transfer_id:
            _ticket_open(
                payout,
                title=f"Reward payout {payout.pk} has two transfers at Stripe",
                text=f"Payout {payout.pk} is paid by {payout.stripe_transfer_id}, and Stripe "
                f"reports transfer {transfer_id} for it too. Reverse one of them at Stripe.",
                kind="second-transfer",
            )
        return ""
    was = payout.status
    now = timezone.now()
    payout.status, payout.stripe_transfer_id, payout.paid_at = Payout.Status.PAID, transfer_id, now
    payout.last_error, payout.next_attempt_at = "", None
    payout.save(
        update_fields=[
            "status",
            "stripe_transfer_id",
            "paid_at",
            "last_error",
            "next_attempt_at",
            "updated_at",
        ]
    )
    settled = Payment.objects.filter(
        payout=payout, status__in=[Payment.Status.PROCESSING, Payment.Status.FAILED]
    ).update(status=Payment.Status.PAID, paid_at=now, stripe_transfer_id=transfer_id, last_error="")
    event_record(
        subject=payout,
        action="payout_paid",
        message=f"Paid ({how}; it was {Payout.Status(was).label.lower()}).",
        data={"transfer": transfer_id, "payments": settled},
    )
    if was == Payout.Status.FAILED:
        moved = payout.payments.exclude(status=Payment.Status.PAID).count()
        _ticket_open(
            payout,
            title=f"Reward payout {payout.pk} was paid after it had failed",
            text=f"Stripe reports transfer {transfer_id} for payout {payout.pk}, which was "
            f"recorded as failed. {settled} payment(s) are now paid by it"
            + (f"; {moved} had already been handled another way: check them." if moved else "."),
            kind="late-transfer",
        )
    return PAID


@transaction.atomic
def payout_reversed(*, payout_id: int, transfer_id: str) -> str:
    """Stripe reversed the transfer: the money went back, the payments fail for a person to see."""
    payout = Payout.objects.select_for_update().get(pk=payout_id)
    if payout.status == Payout.Status.REVERSED:
        return ""
    payout.status, payout.stripe_transfer_id = Payout.Status.REVERSED, transfer_id
    payout.last_error = "the transfer was reversed at Stripe"
    payout.save(update_fields=["status", "stripe_transfer_id", "last_error", "updated_at"])
    payout.payments.exclude(status=Payment.Status.CANCELLED).update(
        status=Payment.Status.FAILED, last_error=payout.last_error
    )
    event_record(subject=payout, action="payout_reversed", message="Stripe reversed the transfer.")
    return FAILED


def payout_ask_stripe(*, payout: Payout, actor: Actor = None) -> str:
    """The admin's *Ask Stripe now*: settle an unknown or needs-attention payout at once."""
    outcome = payout_settle(payout_id=payout.pk)
    event_record(
        subject=payout,
        action="payout_asked",
        message=f"Asked Stripe by hand: {outcome or 'nothing to settle'}.",
        actor=actor,
    )
    return outcome
