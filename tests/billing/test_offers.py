"""Offering a plan: a Checkout link through the outbox, or a subscription paid by invoice."""

import pytest
from django.core import mail

from billing import services
from billing.models import Offer, Subscription
from tests.conftest import outbox_delivered

pytestmark = pytest.mark.django_db


@pytest.fixture
def cafe(make_business):
    return make_business("Café Kanel", contact_email="agnes@kanel.se", language="sv")


def test_offer_by_checkout_sends_the_link_to_the_cafe_through_the_outbox(plans, cafe, stripe_fake):
    offer = services.offer_create(business=cafe, plan=plans["Plus"], method=Offer.Method.CHECKOUT)

    offer = services.offer_send(offer_id=offer.pk)

    assert offer.status == Offer.Status.SENT
    (session,) = stripe_fake.checkout_sessions()
    assert session["mode"] == "subscription"
    assert session["url"] == offer.checkout_url
    assert session["_price"] == plans["Plus"].stripe_price_id
    assert session["_subscription_metadata"]["offer"] == str(offer.pk)
    (message,) = outbox_delivered()
    assert message.to == ["agnes@kanel.se"]
    assert offer.checkout_url in message.body
    assert "599\xa0kr" in message.body
    assert message.subject == "Ert Pilot Ops-paket: Plus"  # the café's language, Swedish
    assert "Kom igång här" in message.body


def test_offer_sent_twice_sends_one_link(plans, cafe, stripe_fake):
    offer = services.offer_create(business=cafe, plan=plans["Bas"], method=Offer.Method.CHECKOUT)
    services.offer_send(offer_id=offer.pk)
    services.offer_send(offer_id=offer.pk)

    assert len(stripe_fake.checkout_sessions()) == 1
    assert len(outbox_delivered()) == 1


def test_offer_by_invoice_creates_a_send_invoice_subscription_with_30_days_to_pay(
    plans, cafe, stripe_fake
):
    offer = services.offer_create(business=cafe, plan=plans["Pro"], method=Offer.Method.INVOICE)

    offer = services.offer_send(offer_id=offer.pk)

    (at_stripe,) = stripe_fake.subscriptions()
    assert offer.status == Offer.Status.SUBSCRIBED
    assert offer.stripe_subscription_id == at_stripe["id"]
    assert at_stripe["collection_method"] == "send_invoice"
    assert at_stripe["days_until_due"] == 30
    assert at_stripe["default_tax_rates"][0]["percentage"] == 25
    (invoice,) = stripe_fake.invoices()
    assert invoice["amount_due"] == 99900 + 24975
    row = Subscription.objects.get()
    assert (row.business, row.plan, row.offer) == (cafe, plans["Pro"], offer)
    assert row.status == Subscription.Status.ACTIVE  # Stripe's answer, before any webhook
    assert mail.outbox == []


def test_offer_whose_answer_was_lost_is_unknown_then_settled_by_asking_stripe(
    plans, cafe, stripe_fake
):
    offer = services.offer_create(business=cafe, plan=plans["Bas"], method=Offer.Method.INVOICE)
    stripe_fake.lose_answer_next("/v1/subscriptions")

    offer = services.offer_send(offer_id=offer.pk)
    assert offer.status == Offer.Status.UNKNOWN
    assert len(stripe_fake.subscriptions()) == 1  # Stripe made it; we do not know yet

    offer = services.offer_send(offer_id=offer.pk)

    (at_stripe,) = stripe_fake.subscriptions()
    assert offer.status == Offer.Status.SUBSCRIBED
    assert offer.stripe_subscription_id == at_stripe["id"]
    creates = [r for r in stripe_fake.state.requests if r[:2] == ("POST", "/v1/subscriptions")]
    assert len(creates) == 1  # found by asking, not made again


def test_offer_refused_by_stripe_is_failed_not_unknown(plans, cafe, stripe_fake):
    offer = services.offer_create(business=cafe, plan=plans["Bas"], method=Offer.Method.INVOICE)
    stripe_fake.fail_next("/v1/subscriptions", status=400)

    offer = services.offer_send(offer_id=offer.pk)

    assert offer.status == Offer.Status.FAILED
    assert stripe_fake.subscriptions() == []


@pytest.mark.parametrize("method", [Offer.Method.CHECKOUT, Offer.Method.INVOICE])
def test_offer_needs_the_cafes_e_mail(plans, make_business, stripe_fake, method):
    silent = make_business("Café Tyst")
    with pytest.raises(services.BillingError, match="e-mail"):
        services.offer_create(business=silent, plan=plans["Bas"], method=method)


def test_offer_of_a_plan_not_synced_is_refused(cafe, db):
    from billing.models import Plan

    with pytest.raises(services.BillingError, match="billing_sync_plans"):
        services.offer_create(
            business=cafe, plan=Plan.objects.get(name="Bas"), method=Offer.Method.INVOICE
        )


def test_offer_whose_link_expires_unused_says_so_and_the_plan_can_be_offered_again(
    client, plans, cafe, stripe_fake
):
    from tests.billing.conftest import deliver_all

    offer = services.offer_send(
        offer_id=services.offer_create(
            business=cafe, plan=plans["Plus"], method=Offer.Method.CHECKOUT
        ).pk
    )
    seen = len(stripe_fake.billing_events())
    stripe_fake.checkout_expire(offer.stripe_checkout_session_id)

    deliver_all(client, stripe_fake, stripe_fake.billing_events()[seen:] * 2)

    offer.refresh_from_db()
    assert offer.status == Offer.Status.EXPIRED
    assert offer.checkout_url == ""
    assert services.offers_settle() == {}  # nothing to ask Stripe again
    with pytest.raises(ValueError):
        stripe_fake.checkout_complete(offer.stripe_checkout_session_id)
    again = services.offer_send(
        offer_id=services.offer_create(
            business=cafe, plan=plans["Plus"], method=Offer.Method.CHECKOUT
        ).pk
    )
    stripe_fake.checkout_complete(again.stripe_checkout_session_id)
    deliver_all(client, stripe_fake, stripe_fake.billing_events()[seen + 1 :])
    assert Subscription.objects.get().business == cafe
    assert Offer.objects.get(pk=again.pk).status == Offer.Status.SUBSCRIBED


def test_offer_link_expiring_after_a_lost_answer_is_expired_not_sent_again(
    client, plans, cafe, stripe_fake
):
    """The link was made at Stripe but its answer was lost: the expiry finds the offer by its
    metadata, and settling does not send the dead link."""
    from tests.billing.conftest import deliver_all

    offer = services.offer_create(business=cafe, plan=plans["Bas"], method=Offer.Method.CHECKOUT)
    services.offer_send(offer_id=offer.pk)
    Offer.objects.filter(pk=offer.pk).update(
        status=Offer.Status.UNKNOWN, stripe_checkout_session_id="", checkout_url=""
    )
    (session,) = stripe_fake.checkout_sessions()
    seen = len(stripe_fake.billing_events())
    stripe_fake.checkout_expire(session["id"])

    deliver_all(client, stripe_fake, stripe_fake.billing_events()[seen:])

    assert Offer.objects.get(pk=offer.pk).status == Offer.Status.EXPIRED
    assert services.offers_settle() == {}
