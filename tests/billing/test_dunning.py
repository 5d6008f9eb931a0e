"""Dunning: one ticket and one message per unpaid invoice, features off after the grace period,
back on when paid; nothing deleted."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing import dunning, services
from billing.models import Invoice, Offer, Subscription
from core.flags import flag_is_on
from pilots.features import business_tenant
from support.models import Priority, Ticket
from tests.billing.conftest import INSIGHTS, deliver_all
from tests.conftest import outbox_delivered

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscribed(client, plans, make_business, stripe_fake):
    """Café Kanel on Plus by Checkout, its first invoice paid, every event delivered."""
    cafe = make_business("Café Kanel", contact_email="agnes@kanel.se", language="en")
    offer = services.offer_create(business=cafe, plan=plans["Plus"], method=Offer.Method.CHECKOUT)
    offer = services.offer_send(offer_id=offer.pk)
    stripe_fake.checkout_complete(offer.stripe_checkout_session_id)
    deliver_all(client, stripe_fake, stripe_fake.billing_events())
    outbox_delivered().clear()
    return cafe


def new_events(fake, seen: int) -> list[dict]:
    return fake.billing_events()[seen:]


def insights_on(cafe) -> bool:
    return flag_is_on(INSIGHTS, tenant=business_tenant(cafe))


def test_payment_failed_opens_one_ticket_and_tells_the_cafe_once(client, subscribed, stripe_fake):
    (subscription,) = stripe_fake.subscriptions()
    seen = len(stripe_fake.billing_events())
    invoice = stripe_fake.invoice_new_period(subscription["id"])
    stripe_fake.invoice_fail(invoice["id"])
    stripe_fake.invoice_fail(invoice["id"])  # Stripe's retry fails too
    events = new_events(stripe_fake, seen)

    deliver_all(client, stripe_fake, events * 3)

    (ticket,) = Ticket.objects.all()
    assert ticket.priority == Priority.P2
    assert ticket.business == subscribed
    assert ticket.category == Ticket.Category.PAYMENTS
    (message,) = outbox_delivered()
    assert message.to == ["agnes@kanel.se"]
    assert "SEK\xa0748.75" in message.body
    assert invoice["hosted_invoice_url"] in message.body
    row = Subscription.objects.get()
    assert row.status == Subscription.Status.PAST_DUE
    assert row.past_due_since is not None
    assert insights_on(subscribed)  # the grace period has begun, features still on


def test_after_the_grace_period_features_are_off_and_payment_restores_them(
    client, subscribed, stripe_fake, settings
):
    (subscription,) = stripe_fake.subscriptions()
    seen = len(stripe_fake.billing_events())
    invoice = stripe_fake.invoice_new_period(subscription["id"])
    stripe_fake.invoice_fail(invoice["id"])
    deliver_all(client, stripe_fake, new_events(stripe_fake, seen))
    row = Subscription.objects.get()

    dunning.dunning_sweep(now=row.past_due_since + timedelta(days=13, hours=23))
    assert insights_on(subscribed)

    summary = dunning.dunning_sweep(now=row.past_due_since + timedelta(days=14, minutes=1))

    assert "1 subscriptions past due, features off" in str(summary)
    row.refresh_from_db()
    assert row.status == Subscription.Status.PAST_DUE
    assert row.features_suspended_at is not None
    assert not insights_on(subscribed)
    assert Invoice.objects.count() == 2  # nothing deleted
    assert dunning.dunning_sweep(now=timezone.now() + timedelta(days=30)).counts == {}

    seen = len(stripe_fake.billing_events())
    stripe_fake.invoice_pay(invoice["id"])
    deliver_all(client, stripe_fake, new_events(stripe_fake, seen))

    row.refresh_from_db()
    assert row.status == Subscription.Status.ACTIVE
    assert (row.features_suspended_at, row.past_due_since) == (None, None)
    assert insights_on(subscribed)
    assert Invoice.objects.get(stripe_invoice_id=invoice["id"]).status == Invoice.Status.PAID


def test_grace_period_follows_the_setting(client, subscribed, stripe_fake, settings):
    settings.BILLING_GRACE_DAYS = 3
    (subscription,) = stripe_fake.subscriptions()
    seen = len(stripe_fake.billing_events())
    invoice = stripe_fake.invoice_new_period(subscription["id"])
    stripe_fake.invoice_fail(invoice["id"])
    deliver_all(client, stripe_fake, new_events(stripe_fake, seen))
    row = Subscription.objects.get()

    dunning.dunning_sweep(now=row.past_due_since + timedelta(days=3, minutes=1))

    assert not insights_on(subscribed)


def test_an_overdue_invoice_of_an_invoiced_subscription_starts_dunning_once(
    client, plans, make_business, stripe_fake
):
    cafe = make_business("Café Faktura", contact_email="ekonomi@faktura.se", language="en")
    offer = services.offer_create(business=cafe, plan=plans["Pro"], method=Offer.Method.INVOICE)
    services.offer_send(offer_id=offer.pk)
    deliver_all(client, stripe_fake, stripe_fake.billing_events())
    invoice = Invoice.objects.get()
    assert invoice.due_at - invoice.created_at > timedelta(days=29)

    dunning.dunning_sweep(now=invoice.due_at - timedelta(minutes=1))
    assert not Ticket.objects.exists()
    dunning.dunning_sweep(now=invoice.due_at + timedelta(minutes=1))
    dunning.dunning_sweep(now=invoice.due_at + timedelta(hours=1))

    assert Ticket.objects.count() == 1
    assert len(outbox_delivered()) == 1
    dunning.dunning_sweep(now=invoice.due_at + timedelta(days=14, minutes=2))
    row = Subscription.objects.get()
    assert row.status == Subscription.Status.PAST_DUE
    assert row.features_suspended_at is not None


def test_the_hourly_job_settles_lost_offers_and_is_on_the_beat_schedule(
    plans, make_business, stripe_fake, settings
):
    from io import StringIO

    from django.core.management import call_command

    from core.models import MaintenanceRun

    assert "billing_dunning" in settings.CELERY_BEAT_SCHEDULE["billing-dunning"]["args"]
    cafe = make_business("Café Tappad", contact_email="tappad@example.se")
    offer = services.offer_create(business=cafe, plan=plans["Bas"], method=Offer.Method.INVOICE)
    stripe_fake.lose_answer_next("/v1/subscriptions")
    assert services.offer_send(offer_id=offer.pk).status == Offer.Status.UNKNOWN

    call_command("run_maintenance", "billing_dunning", stdout=StringIO())

    offer.refresh_from_db()
    assert offer.status == Offer.Status.SUBSCRIBED
    assert len(stripe_fake.subscriptions()) == 1
    run = MaintenanceRun.objects.get(job="billing_dunning")
    assert "1 offers subscribed" in run.summary


def test_payment_failed_tells_a_swedish_cafe_in_swedish_with_swedish_money(
    client, subscribed, stripe_fake
):
    subscribed.language = "sv"
    subscribed.save(update_fields=["language"])
    (subscription,) = stripe_fake.subscriptions()
    seen = len(stripe_fake.billing_events())
    invoice = stripe_fake.invoice_new_period(subscription["id"])
    stripe_fake.invoice_fail(invoice["id"])

    deliver_all(client, stripe_fake, new_events(stripe_fake, seen))

    (message,) = outbox_delivered()
    assert "Vi har inte fått betalt 748,75\xa0kr" in message.body
    assert "SEK" not in message.body
