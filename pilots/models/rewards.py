"""Rewards: who receives them, each payment, the transfers that pay them, and Stripe's word."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from pilots.models.feedback import Feedback
from pilots.models.programme import Business, Pilot


class RewardRecipient(TimeStampedModel):
    """A customer who claims rewards, known by a keyed hash of their contact.

    The contact itself is kept only for the retention period; the hash stays,
    so fraud rules still see repeat claims after the contact is purged.
    """

    class Onboarding(models.TextChoices):
        NOT_STARTED = "not_started", _("Not started")
        PENDING = "pending", _("Onboarding at Stripe")
        PAYABLE = "payable", _("Payable")
        RESTRICTED = "restricted", _("Restricted")

    CONTACT_FIELDS = ("contact_email", "contact_phone")
    contact_hash = models.CharField(_("contact hash"), max_length=64, unique=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    contact_anonymised_at = models.DateTimeField(
        _("contact anonymised at"), null=True, blank=True, editable=False
    )
    contact_verified_at = models.DateTimeField(
        _("contact verified at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "When a claim link sent to the contact was first opened: the contact is theirs."
        ),
    )
    stripe_account_id = models.CharField(_("Stripe account"), max_length=255, blank=True)
    onboarding = models.CharField(
        _("onboarding"),
        max_length=20,
        choices=Onboarding.choices,
        default=Onboarding.NOT_STARTED,
        db_index=True,
    )
    account_updated_at = models.DateTimeField(
        _("account updated at"),
        null=True,
        blank=True,
        help_text=_("Time of the newest Stripe account event applied."),
    )

    class Meta:
        verbose_name = _("reward recipient")
        verbose_name_plural = _("reward recipients")
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_account_id"],
                condition=~Q(stripe_account_id=""),
                name="pilots_recipient_one_row_per_stripe_account",
            )
        ]

    def __str__(self) -> str:
        return _("Recipient %(number)s") % {"number": self.pk}


class Payment(TimeStampedModel):
    """The reward for one eligible feedback. Paid at most once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        HELD = "held", _("Held for review")
        PROCESSING = "processing", _("Processing")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    feedback = models.OneToOneField(
        Feedback, on_delete=models.PROTECT, related_name="payment", verbose_name=_("feedback")
    )
    recipient = models.ForeignKey(
        RewardRecipient,
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name=_("recipient"),
    )
    business = models.ForeignKey(
        Business, on_delete=models.PROTECT, related_name="payments", verbose_name=_("business")
    )
    pilot = models.ForeignKey(
        Pilot, on_delete=models.PROTECT, related_name="payments", verbose_name=_("pilot")
    )
    client_hash = models.CharField(_("client hash"), max_length=64, db_index=True)
    amount = models.PositiveIntegerField(_("amount"), help_text=_("In minor units (öre)."))
    currency = models.CharField(_("currency"), max_length=3, default="SEK")
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    hold_reason = models.CharField(_("hold reason"), max_length=200, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    payout = models.ForeignKey(
        "Payout",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name=_("payout"),
    )
    stripe_transfer_id = models.CharField(_("Stripe transfer"), max_length=255, blank=True)
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=64, unique=True, default=uuid.uuid4, editable=False
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    manual_reason = models.CharField(
        _("reason for manual payment"),
        max_length=300,
        blank=True,
        help_text=_("Why it was marked paid by hand."),
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        indexes = [
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["recipient", "status"]),
            models.Index(fields=["recipient", "created_at"]),
            models.Index(fields=["client_hash", "created_at"]),
            models.Index(fields=["pilot", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="pilots_payment_amount_positive"
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_at__isnull=False),
                name="pilots_payment_paid_has_paid_at",
            ),
            models.CheckConstraint(
                condition=~Q(status="processing") | Q(payout__isnull=False),
                name="pilots_payment_processing_has_payout",
            ),
        ]

    def __str__(self) -> str:
        return _("Payment %(number)s (%(status)s)") % {
            "number": self.pk,
            "status": self.get_status_display().lower(),
        }


class Payout(TimeStampedModel):
    """One Stripe transfer to one recipient, covering one or more payments.

    Its outcome at Stripe is settled only by Stripe's word: the answer to the
    transfer request, a retrieval (by ``transfer_group``) or a webhook. An
    answer that was lost makes it *unknown*, never *failed*; see
    pilots/payouts.py for every transition.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to send")
        PROCESSING = "processing", _("Sent, awaiting Stripe")
        UNKNOWN = "unknown", _("Answer lost: asking Stripe")
        NEEDS_ATTENTION = "needs_attention", _("Needs attention: unsettled after every try")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed: no transfer made")
        REVERSED = "reversed", _("Reversed")

    UNSETTLED = (Status.PENDING, Status.PROCESSING, Status.UNKNOWN, Status.NEEDS_ATTENTION)

    recipient = models.ForeignKey(
        RewardRecipient,
        on_delete=models.PROTECT,
        related_name="payouts",
        verbose_name=_("recipient"),
    )
    amount = models.PositiveIntegerField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3, default="SEK")
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=80, unique=True, editable=False
    )
    stripe_transfer_id = models.CharField(
        _("Stripe transfer"), max_length=255, blank=True, db_index=True
    )
    attempts = models.PositiveIntegerField(
        _("attempts"), default=0, help_text=_("Transfer requests sent so far.")
    )
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    last_checked_at = models.DateTimeField(
        _("last checked at"),
        null=True,
        blank=True,
        help_text=_("When Stripe was last asked whether the transfer exists."),
    )
    no_transfer_confirmed_at = models.DateTimeField(
        _("no transfer confirmed at"),
        null=True,
        blank=True,
        help_text=_("When Stripe confirmed that no transfer was made (a refusal, or a lookup)."),
    )
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient"],
                condition=Q(status__in=["pending", "processing", "unknown", "needs_attention"]),
                name="pilots_payout_one_open_per_recipient",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="pilots_payout_amount_positive"),
            models.CheckConstraint(
                condition=~Q(status="paid") | ~Q(stripe_transfer_id=""),
                name="pilots_payout_paid_has_transfer",
            ),
        ]

    def __str__(self) -> str:
        return _("Payout %(number)s (%(status)s)") % {
            "number": self.pk,
            "status": self.get_status_display().lower(),
        }

    @property
    def transfer_group(self) -> str:
        """Sent with the transfer so it can be found at Stripe without the idempotency key."""
        return self.idempotency_key

    @property
    def is_settled(self) -> bool:
        return self.status not in self.UNSETTLED


class PayoutAttempt(models.Model):
    """One transfer request to Stripe for a payout: what was asked and what came back."""

    class Outcome(models.TextChoices):
        STARTED = "started", _("Started, no answer yet")
        SUCCEEDED = "succeeded", _("Stripe made the transfer")
        REFUSED = "refused", _("Refused by Stripe")
        UNKNOWN = "unknown", _("Answer lost")

    payout = models.ForeignKey(
        Payout, on_delete=models.CASCADE, related_name="attempts_made", verbose_name=_("payout")
    )
    number = models.PositiveIntegerField(_("number"))
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    request = models.JSONField(_("request"), default=dict)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=Outcome.choices, default=Outcome.STARTED
    )
    error = models.TextField(_("error"), blank=True)
    stripe_transfer_id = models.CharField(_("Stripe transfer"), max_length=255, blank=True)

    class Meta:
        ordering = ["payout", "number"]
        verbose_name = _("payout attempt")
        verbose_name_plural = _("payout attempts")
        constraints = [
            models.UniqueConstraint(fields=["payout", "number"], name="pilots_payoutattempt_unique")
        ]
        # The refusal rate on /metrics counts the last hour's answers.
        indexes = [models.Index(fields=["finished_at"], name="pilots_attempt_finished")]

    def __str__(self) -> str:
        return _("Attempt %(number)s of payout %(payout)s") % {
            "number": self.number,
            "payout": self.payout_id,
        }


class StripeEvent(models.Model):
    """Every webhook event Stripe sent, stored once by its id."""

    # Account events carry the recipient's e-mail address.
    CONTACT_FIELDS = ("payload",)

    stripe_id = models.CharField(_("Stripe id"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100, db_index=True)
    payload = models.JSONField(_("payload"), default=dict)
    stripe_created_at = models.DateTimeField(_("created at Stripe"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    deliveries = models.PositiveIntegerField(_("deliveries"), default=1)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"


class PayoutSwitch(models.Model):
    """The global switch for reward payouts. One row; off stops the payout run, nothing is lost."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    payouts_enabled = models.BooleanField(_("payouts enabled"), default=True)
    note = models.CharField(
        _("note"), max_length=200, blank=True, help_text=_("Why payouts are off.")
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("payout switch")
        verbose_name_plural = _("payout switch")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="pilots_payoutswitch_singleton")
        ]

    def __str__(self) -> str:
        return str(_("Payouts are on") if self.payouts_enabled else _("Payouts are off"))
