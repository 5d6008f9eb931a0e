"""Plans, the offers made to cafés, their subscriptions and invoices on Stripe Billing.

Stripe is the source of truth for subscriptions and invoices: the rows here
are what its webhooks said, applied once each and in Stripe's time (an older
word never overwrites a newer one, a paid invoice is never un-paid).
"""

import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core import flags
from core.models import TimeStampedModel


def validate_feature_names(value) -> None:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ValidationError(_("Features are a list of feature names."))
    for name in value:
        if not re.match(flags.NAME_PATTERN, name):
            raise ValidationError(f"{name!r} is not a feature name.")


class Plan(TimeStampedModel):
    """What a café can buy after its pilot: a monthly price and the features it turns on."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    monthly_price = models.PositiveIntegerField(
        _("monthly price"),
        validators=[MinValueValidator(100)],
        help_text=_("Öre a month, before VAT (29900 is 299 kr)."),
    )
    currency = models.CharField(_("currency"), max_length=3, default="SEK", editable=False)
    vat_percent = models.PositiveSmallIntegerField(
        _("vat percent"),
        default=25,
        validators=[MaxValueValidator(100)],
        help_text=_("Swedish VAT (moms), %."),
    )
    features = models.JSONField(
        _("features"),
        default=list,
        blank=True,
        validators=[validate_feature_names],
        help_text=_("Feature flags turned on for a business while its plan is active."),
    )
    is_active = models.BooleanField(
        _("is active"), default=True, help_text=_("Off: no new offers of this plan.")
    )
    stripe_product_id = models.CharField(
        _("stripe product id"), max_length=255, blank=True, editable=False
    )
    stripe_price_id = models.CharField(
        _("stripe price id"), max_length=255, blank=True, editable=False
    )
    stripe_price_amount = models.PositiveIntegerField(
        _("stripe price amount"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("The amount of the synced price."),
    )
    stripe_tax_rate_id = models.CharField(
        _("stripe tax rate id"), max_length=255, blank=True, editable=False
    )
    stripe_tax_rate_percent = models.PositiveSmallIntegerField(
        _("stripe tax rate percent"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("The VAT of the synced tax rate, %."),
    )
    synced_at = models.DateTimeField(_("synced at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["monthly_price"]
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_price__gte=100),
                name="billing_plan_price_at_least_one_krona",
                violation_error_message=_("The monthly price must be at least 100 öre."),
            ),
            models.CheckConstraint(
                condition=Q(vat_percent__lte=100), name="billing_plan_vat_at_most_100"
            ),
        ]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")

    def __str__(self) -> str:
        return self.name

    @property
    def in_sync(self) -> bool:
        return (
            bool(self.stripe_price_id)
            and self.stripe_price_amount == self.monthly_price
            and self.stripe_tax_rate_percent == self.vat_percent
        )


class Offer(TimeStampedModel):
    """A plan offered to one business, by Checkout link or as an invoiced subscription.

    Its idempotency key goes with every create it causes at Stripe, so a retry
    after a lost answer can only find what the first try made.
    """

    class Method(models.TextChoices):
        CHECKOUT = "checkout", _("Checkout link (card)")
        INVOICE = "invoice", _("Invoice, 30 days to pay")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        UNKNOWN = "unknown", _("Unknown (answer lost)")
        SENT = "sent", _("Link sent")
        SUBSCRIBED = "subscribed", _("Subscribed")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Link expired unused: offer the plan again")

    business = models.ForeignKey(
        "pilots.Business",
        on_delete=models.PROTECT,
        related_name="offers",
        verbose_name=_("business"),
    )
    pilot = models.ForeignKey(
        "pilots.Pilot",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="offers",
        verbose_name=_("pilot"),
    )
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, related_name="offers", verbose_name=_("plan")
    )
    method = models.CharField(_("method"), max_length=10, choices=Method.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=100, unique=True, editable=False
    )
    stripe_customer_id = models.CharField(
        _("stripe customer id"), max_length=255, blank=True, editable=False
    )
    stripe_checkout_session_id = models.CharField(
        _("stripe checkout session id"), max_length=255, blank=True, editable=False
    )
    checkout_url = models.URLField(_("checkout url"), max_length=1000, blank=True, editable=False)
    stripe_subscription_id = models.CharField(
        _("stripe subscription id"), max_length=255, blank=True, editable=False
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)
    offered_by = models.ForeignKey(
        "auth.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("offered by"),
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("offer")
        verbose_name_plural = _("offers")

    def __str__(self) -> str:
        return gettext("%(plan)s for %(business)s") % {
            "plan": self.plan,
            "business": self.business.name,
        }


class Subscription(TimeStampedModel):
    """A business's subscription at Stripe, as Stripe's webhooks last said it."""

    class Status(models.TextChoices):
        INCOMPLETE = "incomplete", _("Incomplete")
        TRIALING = "trialing", _("Trialing")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due")
        CANCELLED = "cancelled", _("Cancelled")

    # Statuses in which the plan's features are on (unless suspended after the grace period).
    ENTITLED = (Status.TRIALING, Status.ACTIVE, Status.PAST_DUE)
    # Stripe's subscription statuses as Pilot Ops keeps them (paused and unknown ones: ignored).
    STRIPE_STATUS = {
        "incomplete": Status.INCOMPLETE,
        "trialing": Status.TRIALING,
        "active": Status.ACTIVE,
        "past_due": Status.PAST_DUE,
        "unpaid": Status.PAST_DUE,
        "canceled": Status.CANCELLED,
        "incomplete_expired": Status.CANCELLED,
    }
    # How far along a subscription is, to order two words of Stripe's from the same second.
    RANK = {"incomplete": 0, "trialing": 1, "active": 2, "past_due": 3, "cancelled": 4}

    business = models.ForeignKey(
        "pilots.Business",
        on_delete=models.PROTECT,
        related_name="subscriptions",
        verbose_name=_("business"),
    )
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("plan")
    )
    offer = models.ForeignKey(
        Offer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subscriptions",
        verbose_name=_("offer"),
    )
    stripe_subscription_id = models.CharField(
        _("stripe subscription id"), max_length=255, unique=True
    )
    stripe_customer_id = models.CharField(_("stripe customer id"), max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.INCOMPLETE, db_index=True
    )
    collection_method = models.CharField(_("collection method"), max_length=30, blank=True)
    cancel_at_period_end = models.BooleanField(_("cancel at period end"), default=False)
    current_period_end = models.DateTimeField(_("current period end"), null=True, blank=True)
    started_at = models.DateTimeField(
        _("started at"), null=True, blank=True, help_text=_("First active.")
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    stripe_updated_at = models.DateTimeField(
        _("stripe updated at"),
        null=True,
        blank=True,
        help_text=_("Stripe's time of the newest word applied."),
    )
    past_due_since = models.DateTimeField(
        _("past due since"),
        null=True,
        blank=True,
        help_text=_("The first unpaid failed or overdue invoice."),
    )
    features_suspended_at = models.DateTimeField(
        _("features suspended at"),
        null=True,
        blank=True,
        help_text=_("The grace period ran out: the plan's features are off."),
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["business", "status"])]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")

    def __str__(self) -> str:
        return gettext("%(plan)s for %(business)s (%(status)s)") % {
            "plan": self.plan,
            "business": self.business.name,
            "status": self.get_status_display().lower(),
        }

    @property
    def features_on(self) -> bool:
        return self.status in self.ENTITLED and self.features_suspended_at is None


class Invoice(TimeStampedModel):
    """An invoice at Stripe; once paid, it stays paid."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        PAID = "paid", _("Paid")
        UNCOLLECTIBLE = "uncollectible", _("Uncollectible")
        VOID = "void", _("Void")

    business = models.ForeignKey(
        "pilots.Business",
        on_delete=models.PROTECT,
        related_name="invoices",
        verbose_name=_("business"),
    )
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.PROTECT,
        related_name="invoices",
        verbose_name=_("subscription"),
    )
    stripe_invoice_id = models.CharField(_("stripe invoice id"), max_length=255, unique=True)
    number = models.CharField(_("number"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=15, choices=Status.choices, default=Status.OPEN
    )
    currency = models.CharField(_("currency"), max_length=3, default="SEK")
    amount_due = models.PositiveIntegerField(
        _("amount due"), default=0, help_text=_("Öre, VAT included.")
    )
    amount_paid = models.PositiveIntegerField(_("amount paid"), default=0)
    tax = models.PositiveIntegerField(_("tax"), default=0)
    hosted_invoice_url = models.URLField(_("hosted invoice url"), max_length=1000, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True, db_index=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    payment_failed_at = models.DateTimeField(_("payment failed at"), null=True, blank=True)
    dunning_started_at = models.DateTimeField(
        _("dunning started at"),
        null=True,
        blank=True,
        help_text=_("When the ticket and the café's message went out."),
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_at__isnull=False),
                name="billing_invoice_paid_has_paid_at",
            ),
        ]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")

    def __str__(self) -> str:
        return self.number or self.stripe_invoice_id
