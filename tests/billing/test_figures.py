"""Billing figures — MRR, new, churned, past due, pilot → paid conversion — equal a direct
computation over the Stripe fake's subscriptions; they show on the dashboard and in reports."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from billing import services
from billing.models import Offer
from billing.reports import report_section
from billing.selectors import billing_figures
from pilots.maintenance import report_send
from pilots.services import enrollment_create, pilot_activate
from tests.billing.conftest import deliver_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(client, plans, make_business, make_pilot, stripe_fake):
    """Two pilots, seven cafés, subscriptions in every state, every event delivered."""
    north = pilot_activate(pilot=make_pilot("North pilot"))
    south = pilot_activate(pilot=make_pilot("South pilot"))
    cafes = [make_business(f"Café {n}", contact_email=f"cafe{n}@example.se") for n in range(7)]
    for cafe in cafes[:4]:
        enrollment_create(pilot=north, business=cafe)
    for cafe in cafes[4:]:
        enrollment_create(pilot=south, business=cafe)

    def offer(cafe, plan, method):
        made = services.offer_create(business=cafe, plan=plans[plan], method=method)
        return services.offer_send(offer_id=made.pk)

    checkout = Offer.Method.CHECKOUT
    stripe_fake.checkout_complete(offer(cafes[0], "Plus", checkout).stripe_checkout_session_id)
    paying_late = stripe_fake.checkout_complete(
        offer(cafes[1], "Pro", checkout).stripe_checkout_session_id
    )
    stripe_fake.invoice_fail(stripe_fake.invoice_new_period(paying_late["id"])["id"])
    gone = stripe_fake.checkout_complete(
        offer(cafes[2], "Bas", checkout).stripe_checkout_session_id
    )
    stripe_fake.subscription_end(gone["id"])
    offer(cafes[3], "Bas", checkout)  # the link was sent, never used
    offer(cafes[4], "Pro", Offer.Method.INVOICE)
    deliver_all(client, stripe_fake, stripe_fake.billing_events())
    return {"north": north, "south": south, "cafes": cafes}


def direct(fake, world) -> dict:
    subscriptions = fake.subscriptions()
    running = [s for s in subscriptions if s["status"] in ("active", "past_due")]
    started = {s["metadata"]["business"] for s in subscriptions if s["status"] != "incomplete"}
    conversion = {}
    for name, cafes in (("North pilot", world["cafes"][:4]), ("South pilot", world["cafes"][4:])):
        conversion[name] = (len(cafes), sum(str(cafe.pk) in started for cafe in cafes))
    return {
        "mrr": sum(s["items"]["data"][0]["price"]["unit_amount"] for s in running),
        "running": len(running),
        "new": len(started),
        "churned": sum(s["status"] == "canceled" for s in subscriptions),
        "past_due": sum(s["status"] == "past_due" for s in subscriptions),
        "conversion": conversion,
    }


def test_figures_equal_a_direct_computation_over_the_fakes_subscriptions(world, stripe_fake):
    now = timezone.now()
    figures = billing_figures(start=now - timedelta(days=1), end=now + timedelta(days=1))

    assert {
        "mrr": figures.mrr,
        "running": figures.running,
        "new": figures.new,
        "churned": figures.churned,
        "past_due": figures.past_due,
        "conversion": {c.pilot.name: (c.businesses, c.paying) for c in figures.conversions},
    } == direct(stripe_fake, world)
    assert figures.mrr == 59900 + 99900 + 99900
    south = next(c for c in figures.conversions if c.pilot.name == "South pilot")
    assert south.percent == pytest.approx(100 / 3)


def test_figures_count_new_and_churned_only_inside_the_period(world):
    later = timezone.now() + timedelta(days=40)
    figures = billing_figures(start=later, end=later + timedelta(days=7))
    assert (figures.new, figures.churned) == (0, 0)
    assert figures.mrr == 59900 + 99900 + 99900  # MRR is now, whatever the period


def test_dashboard_shows_the_billing_figures(manager_client, world):
    page = manager_client.get("/admin/").content.decode()
    assert 'id="billing-figures"' in page
    assert "SEK\xa02,597" in page
    assert "North pilot" in page


def test_weekly_report_has_the_billing_section(world, staff_member):
    from core import roles

    manager = staff_member(roles.PILOT_MANAGERS)
    manager.email = "lead@pilotops.se"
    manager.save()
    today = timezone.localdate()

    report_send(start=today - timedelta(days=6), end=today, title="weekly report")

    section = report_section(start=today - timedelta(days=6), end=today)
    assert "MRR:" in section and "Past due now:     1" in section
    from tests.conftest import outbox_delivered

    (message,) = [m for m in outbox_delivered() if "weekly report" in m.subject]
    assert "Churned:          1" in message.body
    assert "North pilot: 3 of 4 cafés paying (75 %)" in message.body
    assert mail.outbox
