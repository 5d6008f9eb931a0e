"""Stripe's word on subscriptions and invoices: stored once, applied once, in Stripe's time."""

import random

import pytest

from billing import services
from billing.models import Invoice, Offer, Subscription
from core.flags import flag_is_on
from pilots.features import business_tenant
from pilots.models import StripeEvent
from tests.billing.conftest import EXPORTS, INSIGHTS, deliver, deliver_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def cafe(make_business):
    return make_business("Café Kanel", contact_email="agnes@kanel.se")


def checkout_paid(plans, cafe, fake, plan="Plus") -> tuple[Offer, dict]:
    """The café was offered ``plan`` by Checkout and paid: Stripe's events are in the fake."""
    offer = services.offer_create(business=cafe, plan=plans[plan], method=Offer.Method.CHECKOUT)
    offer = services.offer_send(offer_id=offer.pk)
    subscription = fake.checkout_complete(offer.stripe_checkout_session_id)
    return offer, subscription


def end_state(cafe) -> dict:
    subscription = Subscription.objects.get(business=cafe)
    return {
        "subscription": (subscription.status, subscription.plan.name, subscription.offer_id),
        "invoices": sorted(
            Invoice.objects.filter(business=cafe).values_list("status", "amount_due", "amount_paid")
        ),
        "offer": Offer.objects.get(business=cafe).status,
        "insights": flag_is_on(INSIGHTS, tenant=business_tenant(cafe)),
        "exports": flag_is_on(EXPORTS, tenant=business_tenant(cafe)),
    }


def test_checkout_completed_subscription_active_invoice_paid_puts_the_cafe_on_its_plan(
    client, plans, cafe, stripe_fake
):
    assert not flag_is_on(INSIGHTS, tenant=business_tenant(cafe))
    offer, at_stripe = checkout_paid(plans, cafe, stripe_fake)
    events = stripe_fake.billing_events()
    assert [e["type"] for e in events] == [
        "checkout.session.completed",
        "customer.subscription.created",
        "invoice.finalized",
        "invoice.paid",
    ]

    deliver_all(client, stripe_fake, events)

    subscription = Subscription.objects.get(business=cafe)
    assert subscription.stripe_subscription_id == at_stripe["id"]
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.started_at is not None
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.amount_due, invoice.amount_paid) == ("paid", 74875, 74875)
    assert invoice.hosted_invoice_url.startswith(stripe_fake.url)
    assert end_state(cafe) == {
        "subscription": ("active", "Plus", offer.pk),
        "invoices": [("paid", 74875, 74875)],
        "offer": "subscribed",
        "insights": True,  # Plus includes weekly insights …
        "exports": False,  # … but not exports
    }


@pytest.mark.parametrize("seed", range(6))
def test_events_three_times_and_shuffled_reach_the_same_end_state(
    client, plans, cafe, stripe_fake, seed
):
    checkout_paid(plans, cafe, stripe_fake)
    # A later month: the payment fails, then succeeds.
    (subscription,) = stripe_fake.subscriptions()
    second = stripe_fake.invoice_new_period(subscription["id"])
    stripe_fake.invoice_fail(second["id"])
    stripe_fake.invoice_pay(second["id"])
    events = stripe_fake.billing_events()
    in_order = end_state_after(client, stripe_fake, cafe, events)
    StripeEvent.objects.all().delete()
    Invoice.objects.all().delete()
    Subscription.objects.all().delete()
    Offer.objects.update(status=Offer.Status.SENT)

    shuffled = events * 3
    random.Random(seed).shuffle(shuffled)

    assert end_state_after(client, stripe_fake, cafe, shuffled) == in_order
    assert in_order["subscription"][0] == "active"
    assert in_order["invoices"] == [("paid", 74875, 74875), ("paid", 74875, 74875)]
    assert StripeEvent.objects.count() == len(events)
    assert all(e.processed_at for e in StripeEvent.objects.all())


def end_state_after(client, fake, cafe, events) -> dict:
    deliver_all(client, fake, events)
    return end_state(cafe)


def test_a_paid_invoice_is_never_unpaid_by_a_late_failure(client, plans, cafe, stripe_fake):
    checkout_paid(plans, cafe, stripe_fake)
    (subscription,) = stripe_fake.subscriptions()
    invoice = stripe_fake.invoice_new_period(subscription["id"])
    stripe_fake.invoice_fail(invoice["id"])
    stripe_fake.invoice_pay(invoice["id"])
    events = stripe_fake.billing_events()
    failed = [e for e in events if e["type"] == "invoice.payment_failed"]
    deliver_all(client, stripe_fake, [e for e in events if e not in failed])

    deliver_all(client, stripe_fake, failed)  # late

    assert Invoice.objects.get(stripe_invoice_id=invoice["id"]).status == Invoice.Status.PAID
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE
    assert Subscription.objects.get().past_due_since is None


def test_subscription_deleted_ends_the_plan_and_its_features(client, plans, cafe, stripe_fake):
    _, at_stripe = checkout_paid(plans, cafe, stripe_fake, plan="Pro")
    deliver_all(client, stripe_fake, stripe_fake.billing_events())
    assert flag_is_on(EXPORTS, tenant=business_tenant(cafe))

    stripe_fake.subscription_end(at_stripe["id"])
    deliver(client, stripe_fake, stripe_fake.billing_events()[-1])

    subscription = Subscription.objects.get()
    assert subscription.status == Subscription.Status.CANCELLED
    assert subscription.cancelled_at is not None
    assert not flag_is_on(EXPORTS, tenant=business_tenant(cafe))
    # Cancelled is final: an older "active" arriving late changes nothing.
    deliver(client, stripe_fake, stripe_fake.billing_events()[1])
    assert Subscription.objects.get().status == Subscription.Status.CANCELLED


def test_a_subscription_pilot_ops_did_not_offer_is_left_alone(client, stripe_fake, db):
    payload = {
        "id": "sub_other",
        "object": "subscription",
        "status": "active",
        "customer": "cus_other",
        "metadata": {"offer": "not-a-number"},
        "items": {"data": []},
    }
    payload_bytes, signature = stripe_fake.signed_event("customer.subscription.created", payload)

    response = client.post(
        "/webhooks/stripe/",
        payload_bytes,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )

    assert response.status_code == 200
    assert not Subscription.objects.exists()


def test_hostile_billing_events_about_a_real_offer_never_fail_the_endpoint(
    client, plans, cafe, stripe_fake
):
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings
    from hypothesis import strategies as st

    from tests.strategies import hostile_text, json_values

    offer = services.offer_create(business=cafe, plan=plans["Bas"], method=Offer.Method.INVOICE)
    metadata = {"offer": str(offer.pk)}
    fields = st.fixed_dictionaries(
        {
            "id": st.one_of(st.just("sub_hostile"), st.just("in_hostile"), hostile_text),
            "subscription": st.one_of(st.just("sub_hostile"), json_values),
            "status": st.one_of(
                st.sampled_from(["active", "past_due", "canceled", "trialing"]), hostile_text
            ),
            "customer": st.one_of(st.just("cus_1"), st.text(min_size=256, max_size=260)),
            "metadata": st.one_of(st.just(metadata), json_values),
            "subscription_details": st.one_of(st.just({"metadata": metadata}), json_values),
            "items": st.one_of(
                st.just({"data": [{"price": {"id": plans["Pro"].stripe_price_id}}]}), json_values
            ),
            "amount_due": st.one_of(st.integers(), hostile_text),
            "amount_paid": st.one_of(st.integers(), hostile_text),
            "due_date": st.one_of(st.integers(), hostile_text),
            "current_period_end": st.one_of(st.integers(), hostile_text),
            "hosted_invoice_url": st.one_of(st.just("javascript:alert(1)"), hostile_text),
            "number": st.one_of(hostile_text, st.text(min_size=101, max_size=120)),
            "currency": st.one_of(st.just("sek"), hostile_text),
            "status_transitions": json_values,
            "cancel_at_period_end": json_values,
            "mode": st.just("subscription"),
        }
    )
    types = st.sampled_from(
        [
            "checkout.session.completed",
            "customer.subscription.created",
            "customer.subscription.updated",
            "customer.subscription.deleted",
            "invoice.finalized",
            "invoice.paid",
            "invoice.payment_failed",
        ]
    )

    @hypothesis_settings(
        max_examples=150,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(event_type=types, obj=fields)
    def one(event_type, obj):
        payload, signature = stripe_fake.signed_event(event_type, obj)
        response = client.post(
            "/webhooks/stripe/",
            payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )
        assert response.status_code in (200, 400), response.content  # never a 500

    one()
    assert (
        not Invoice.objects.exclude(hosted_invoice_url="")
        .exclude(hosted_invoice_url__startswith="http")
        .exists()
    )
    assert Invoice.objects.filter(status="paid", paid_at__isnull=True).count() == 0


def test_the_environment_override_wins_over_a_plans_feature(
    client, plans, cafe, stripe_fake, settings
):
    checkout_paid(plans, cafe, stripe_fake)
    deliver_all(client, stripe_fake, stripe_fake.billing_events())
    assert flag_is_on(INSIGHTS, tenant=business_tenant(cafe))

    settings.FEATURE_OVERRIDES = {INSIGHTS.name: False}

    assert not flag_is_on(INSIGHTS, tenant=business_tenant(cafe))
