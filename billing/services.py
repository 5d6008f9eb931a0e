"""Plans kept in sync with Stripe, offers made to cafés, and the changes people make.

Every create at Stripe carries a key derived from the row that caused it
(``pilotops-plan-<id>-…``, the offer's own key), the same on every try. A
lost answer leaves an offer *unknown*: the next try first asks Stripe
whether the subscription exists (by the offer's metadata), then repeats the
request under the same key, which Stripe answers with what the first made.
"""

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from billing.models import Offer, Plan, Subscription
from core import flags
from core.money import format_money
from core.outbox import email_queue
from core.services import event_record
from pilots import stripe_gateway as gateway
from pilots.models import Business, Pilot

logger = logging.getLogger(__name__)

VAT_KEY = "pilotops-vat-{percent}"


class BillingError(Exception):
    """Refused: the message says why, in words for the person who asked."""


def entitlements_changed() -> None:
    """Features a plan grants may have switched: flags read entitlements afresh."""
    flags.rules_invalidate()
    transaction.on_commit(flags.rules_invalidate)


# ------------------------------------------------------------------------------
# Plans
# ------------------------------------------------------------------------------
@dataclass
class PlanSync:
    plan: Plan
    created: list[str]

    def __str__(self) -> str:
        done = ", ".join(self.created) or gettext("already in sync")
        return f"{self.plan.name}: {done}"


def plan_sync(*, plan: Plan) -> PlanSync:
    """Make Stripe's product, price and tax rate match the plan; safe to run any number of times.

    Stripe's prices never change: a new monthly price is a new Stripe price
    (the old one is archived; subscriptions on it keep it until changed).
    """
    created: list[str] = []
    # One Stripe tax rate per VAT percentage, shared by the plans that charge it.
    tax_rate_id = (
        plan.stripe_tax_rate_id if plan.stripe_tax_rate_percent == plan.vat_percent else ""
    ) or (
        Plan.objects.filter(stripe_tax_rate_percent=plan.vat_percent)
        .exclude(stripe_tax_rate_id="")
        .values_list("stripe_tax_rate_id", flat=True)
        .first()
        or ""
    )
    if not tax_rate_id:
        tax_rate_id = gateway.tax_rate_create(
            percentage=plan.vat_percent,
            idempotency_key=VAT_KEY.format(percent=plan.vat_percent),
        )
        created.append("tax rate")
    metadata = {"plan": str(plan.pk)}
    product_id = plan.stripe_product_id
    if not product_id:
        product_id = gateway.product_create(
            name=f"Pilot Ops {plan.name}",
            metadata=metadata,
            idempotency_key=f"pilotops-plan-{plan.pk}-product",
        )
        created.append("product")
    else:
        gateway.product_update(
            product_id=product_id, name=f"Pilot Ops {plan.name}", active=plan.is_active
        )
    price_id, old_price_id = plan.stripe_price_id, ""
    if not price_id or plan.stripe_price_amount != plan.monthly_price:
        old_price_id = price_id
        price_id = gateway.price_create(
            product_id=product_id,
            amount=plan.monthly_price,
            currency=plan.currency,
            metadata=metadata,
            idempotency_key=f"pilotops-plan-{plan.pk}-price-{plan.monthly_price}",
        )
        created.append("price")
    with transaction.atomic():
        Plan.objects.filter(pk=plan.pk).update(
            stripe_tax_rate_id=tax_rate_id,
            stripe_tax_rate_percent=plan.vat_percent,
            stripe_product_id=product_id,
            stripe_price_id=price_id,
            stripe_price_amount=plan.monthly_price,
            synced_at=timezone.now(),
        )
        if created:
            event_record(
                subject=plan,
                action="plan_synced",
                message=f"Stripe: {', '.join(created)} created.",
            )
    if old_price_id and old_price_id != price_id:
        gateway.price_archive(price_id=old_price_id)
    plan.refresh_from_db()
    return PlanSync(plan=plan, created=created)


def plans_sync() -> list[PlanSync]:
    return [plan_sync(plan=plan) for plan in Plan.objects.order_by("pk")]


# ------------------------------------------------------------------------------
# Offers
# ------------------------------------------------------------------------------
def offer_check(*, business: Business, plan: Plan, method: str) -> None:
    """Raise BillingError, in words for the person offering, when the offer cannot be made."""
    if not plan.is_active:
        raise BillingError(
            gettext("The plan %(plan)s is not offered any more.") % {"plan": plan.name}
        )
    if not plan.in_sync:
        raise BillingError(
            gettext(
                "The plan %(plan)s is not in sync with Stripe: run manage.py billing_sync_plans."
            )
            % {"plan": plan.name}
        )
    if not business.contact_email:
        raise BillingError(
            gettext(
                "The café has no contact e-mail address: Stripe sends the Checkout link and "
                "every invoice there. Add one first."
            )
        )
    if Subscription.objects.filter(business=business, status__in=Subscription.ENTITLED).exists():
        raise BillingError(
            gettext("%(business)s already has a plan: change it instead.")
            % {"business": business.name}
        )


def offer_create(
    *,
    business: Business,
    plan: Plan,
    method: str,
    pilot: Pilot | None = None,
    actor: AbstractBaseUser | None = None,
) -> Offer:
    """Record an offer; ``offer_send`` then makes it at Stripe."""
    offer_check(business=business, plan=plan, method=method)
    offer = Offer(
        business=business,
        pilot=pilot,
        plan=plan,
        method=method,
        idempotency_key=f"pilotops-offer-{uuid.uuid4().hex}",
        offered_by=actor,
    )
    try:
        offer.full_clean()
    except ValidationError as error:
        raise BillingError("; ".join(error.messages)) from error
    with transaction.atomic():
        offer.save()
        event_record(
            subject=business,
            action="plan_offered",
            message=f"{plan.name} offered ({offer.get_method_display().lower()}).",
            actor=actor,
            data={"offer": offer.pk},
        )
    return offer


def _offer_metadata(offer: Offer) -> dict[str, str]:
    return {"offer": str(offer.pk), "business": str(offer.business_id), "plan": str(offer.plan_id)}


def _customer_of(offer: Offer) -> str:
    """The business's Stripe customer: one already known, or one made under the offer's key."""
    if offer.stripe_customer_id:
        return offer.stripe_customer_id
    known = (
        Subscription.objects.filter(business=offer.business_id)
        .exclude(stripe_customer_id="")
        .values_list("stripe_customer_id", flat=True)
        .first()
        or Offer.objects.filter(business=offer.business_id)
        .exclude(stripe_customer_id="")
        .values_list("stripe_customer_id", flat=True)
        .first()
    )
    customer_id = known or gateway.customer_create(
        name=offer.business.name,
        email=offer.business.contact_email,
        metadata={"business": str(offer.business_id)},
        idempotency_key=f"{offer.idempotency_key}-customer",
    )
    Offer.objects.filter(pk=offer.pk).update(stripe_customer_id=customer_id)
    offer.stripe_customer_id = customer_id
    return customer_id


def _unsettled(offer_id: int, error: Exception) -> Offer:
    Offer.objects.filter(
        pk=offer_id, status__in=[Offer.Status.PENDING, Offer.Status.UNKNOWN]
    ).update(status=Offer.Status.UNKNOWN, last_error=str(error)[:2000])
    logger.warning("offer %s: Stripe's answer was lost; it stays unknown", offer_id)
    return Offer.objects.get(pk=offer_id)


def offer_send(*, offer_id: int) -> Offer:
    """Make the offer at Stripe: a Checkout link e-mailed to the café, or an invoiced subscription.

    Safe to call again and from two workers at once: every create carries the
    offer's key. Returns the offer, *unknown* when Stripe's answer was lost.
    """
    offer = Offer.objects.select_related("business", "plan").get(pk=offer_id)
    if offer.status not in (Offer.Status.PENDING, Offer.Status.UNKNOWN):
        return offer
    Offer.objects.filter(pk=offer.pk).update(attempts=F("attempts") + 1)
    try:
        customer_id = _customer_of(offer)
        if offer.method == Offer.Method.CHECKOUT:
            session = gateway.checkout_session_create(
                customer_id=customer_id,
                price_id=offer.plan.stripe_price_id,
                tax_rate_id=offer.plan.stripe_tax_rate_id,
                metadata=_offer_metadata(offer),
                success_url=f"{settings.PUBLIC_BASE_URL}/",
                cancel_url=f"{settings.PUBLIC_BASE_URL}/",
                idempotency_key=f"{offer.idempotency_key}-checkout",
            )
            return _offer_link_sent(offer, session)
        found = None
        if offer.status == Offer.Status.UNKNOWN:
            found = next(
                (
                    subscription
                    for subscription in gateway.subscriptions_of_customer(customer_id=customer_id)
                    if subscription.metadata.get("offer") == str(offer.pk)
                ),
                None,
            )
        subscription = found or gateway.subscription_create_invoiced(
            customer_id=customer_id,
            price_id=offer.plan.stripe_price_id,
            tax_rate_id=offer.plan.stripe_tax_rate_id,
            days_until_due=settings.BILLING_DAYS_UNTIL_DUE,
            metadata=_offer_metadata(offer),
            idempotency_key=f"{offer.idempotency_key}-subscription",
        )
        return _offer_subscribed(offer, subscription, how="found at Stripe" if found else "created")
    except gateway.TransientStripeError as error:
        return _unsettled(offer.pk, error)
    except gateway.PermanentStripeError as error:
        Offer.objects.filter(
            pk=offer.pk, status__in=[Offer.Status.PENDING, Offer.Status.UNKNOWN]
        ).update(status=Offer.Status.FAILED, last_error=str(error)[:2000])
        return Offer.objects.get(pk=offer.pk)
    except gateway.StripeNotConfigured as error:
        raise BillingError(gettext("Stripe is not configured: the offer waits.")) from error


@transaction.atomic
def _offer_link_sent(offer: Offer, session: gateway.CheckoutSession) -> Offer:
    updated = Offer.objects.filter(
        pk=offer.pk, status__in=[Offer.Status.PENDING, Offer.Status.UNKNOWN]
    ).update(
        status=Offer.Status.SENT,
        stripe_checkout_session_id=session.id,
        checkout_url=session.url,
        last_error="",
    )
    if updated:
        business, plan = offer.business, offer.plan
        with translation.override(business.language):
            price = format_money(plan.monthly_price, plan.currency)
            email_queue(
                to=[business.contact_email],
                subject=_("Your Pilot Ops plan: %(plan)s") % {"plan": plan.name},
                body="\n\n".join(
                    [
                        _("Thank you for taking part in the pilot."),
                        _(
                            "We would like to offer %(business)s the %(plan)s plan at %(price)s "
                            "a month (excluding VAT). Start it here:"
                        )
                        % {"business": business.name, "plan": plan.name, "price": price},
                        session.url,
                    ]
                )
                + "\n",
                purpose="plan_offer",
            )
        event_record(
            subject=business,
            action="plan_offer_sent",
            message=f"Checkout link for {plan.name} sent to the café's contact.",
            data={"offer": offer.pk},
        )
    return Offer.objects.get(pk=offer.pk)


@transaction.atomic
def _offer_subscribed(
    offer: Offer, subscription: gateway.BillingSubscription, *, how: str
) -> Offer:
    updated = Offer.objects.filter(
        pk=offer.pk, status__in=[Offer.Status.PENDING, Offer.Status.UNKNOWN, Offer.Status.SENT]
    ).update(status=Offer.Status.SUBSCRIBED, stripe_subscription_id=subscription.id, last_error="")
    if updated:
        status = Subscription.STRIPE_STATUS.get(subscription.status, Subscription.Status.INCOMPLETE)
        Subscription.objects.get_or_create(
            stripe_subscription_id=subscription.id,
            defaults={
                "business_id": offer.business_id,
                "plan_id": offer.plan_id,
                "offer": offer,
                "stripe_customer_id": subscription.customer,
                "collection_method": subscription.collection_method,
                "current_period_end": subscription.current_period_end,
                # Stripe's answer to the create; any webhook's word is newer.
                "status": status,
                "started_at": timezone.now() if status in Subscription.ENTITLED else None,
            },
        )
        if status in Subscription.ENTITLED:
            entitlements_changed()
        event_record(
            subject=offer.business,
            action="plan_subscribed",
            message=f"Subscription {subscription.id} to {offer.plan.name} {how} at Stripe.",
            data={"offer": offer.pk},
        )
    return Offer.objects.get(pk=offer.pk)


def offers_settle() -> dict[str, int]:
    """Ask again for every offer whose answer was lost (the periodic job)."""
    counts: dict[str, int] = {}
    for offer_id in Offer.objects.filter(status=Offer.Status.UNKNOWN).values_list("pk", flat=True):
        status = offer_send(offer_id=offer_id).status
        counts[f"offers {status}"] = counts.get(f"offers {status}", 0) + 1
    return counts


# ------------------------------------------------------------------------------
# Changes people make to a subscription
# ------------------------------------------------------------------------------
def subscription_cancel_at_period_end(
    *, subscription: Subscription, cancel: bool = True, actor: AbstractBaseUser | None = None
) -> Subscription:
    """Ask Stripe to end (or keep) the subscription when its paid period ends."""
    if subscription.status == Subscription.Status.CANCELLED:
        raise BillingError(gettext("The subscription has already ended."))
    try:
        answer = gateway.subscription_cancel_at_period_end(
            subscription_id=subscription.stripe_subscription_id, cancel=cancel
        )
    except (gateway.TransientStripeError, gateway.PermanentStripeError) as error:
        raise BillingError(
            gettext("Stripe did not confirm the change: %(error)s") % {"error": error}
        ) from error
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription.pk).update(
            cancel_at_period_end=answer.cancel_at_period_end
        )
        event_record(
            subject=subscription,
            action="subscription_cancel_at_period_end",
            message="Ends at the end of its period."
            if cancel
            else "No longer ends at the end of its period.",
            actor=actor,
        )
    subscription.refresh_from_db()
    return subscription


def subscription_change_preview(
    *, subscription: Subscription, plan: Plan
) -> gateway.ProrationPreview:
    if not plan.in_sync:
        raise BillingError(
            gettext("The plan %(plan)s is not in sync with Stripe.") % {"plan": plan.name}
        )
    try:
        return gateway.proration_preview(
            subscription_id=subscription.stripe_subscription_id, price_id=plan.stripe_price_id
        )
    except (gateway.TransientStripeError, gateway.PermanentStripeError) as error:
        raise BillingError(
            gettext("Stripe gave no preview: %(error)s") % {"error": error}
        ) from error


def subscription_plan_change(
    *, subscription: Subscription, plan: Plan, actor: AbstractBaseUser | None = None
) -> Subscription:
    """Move the subscription to ``plan`` now; Stripe prorates the rest of the period."""
    if subscription.status not in Subscription.ENTITLED:
        raise BillingError(gettext("Only a running subscription can change plan."))
    if plan.pk == subscription.plan_id:
        raise BillingError(
            gettext("The subscription is already on %(plan)s.") % {"plan": plan.name}
        )
    if not plan.in_sync:
        raise BillingError(
            gettext("The plan %(plan)s is not in sync with Stripe.") % {"plan": plan.name}
        )
    try:
        gateway.subscription_price_change(
            subscription_id=subscription.stripe_subscription_id,
            price_id=plan.stripe_price_id,
            idempotency_key=f"pilotops-subscription-{subscription.pk}-plan-{plan.pk}-"
            f"{subscription.updated_at:%Y%m%d%H%M%S%f}",
        )
    except gateway.TransientStripeError as error:
        raise BillingError(
            gettext(
                "Stripe's answer was lost (%(error)s): the change may have been made; Stripe's "
                "webhook will show the plan it is on. Look again before trying again."
            )
            % {"error": error}
        ) from error
    except gateway.PermanentStripeError as error:
        raise BillingError(f"Stripe refused the change: {error}") from error
    old = subscription.plan
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription.pk).update(plan=plan, updated_at=timezone.now())
        event_record(
            subject=subscription,
            action="subscription_plan_changed",
            message=f"Plan changed from {old.name} to {plan.name}.",
            actor=actor,
        )
        entitlements_changed()
    subscription.refresh_from_db()
    return subscription
