"""Changing a café's plan as a Pilot manager does it, in Debian's chromium (Playwright)."""

import pytest

from billing import services
from billing.models import Offer, Subscription
from core import roles
from tests.billing.conftest import deliver_all
from tests.browsers import logged_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_manager_previews_the_proration_and_changes_the_plan(
    page,
    live_server,
    staff_member,
    client,
    plans,
    make_business,
    stripe_fake,
):
    cafe = make_business("Café Kanel", contact_email="agnes@kanel.se")
    offer = services.offer_create(business=cafe, plan=plans["Plus"], method=Offer.Method.CHECKOUT)
    offer = services.offer_send(offer_id=offer.pk)
    stripe_fake.checkout_complete(offer.stripe_checkout_session_id)
    deliver_all(client, stripe_fake, stripe_fake.billing_events())
    subscription = Subscription.objects.get()
    logged_in(page, live_server, staff_member(roles.PILOT_MANAGERS))

    page.goto(f"{live_server.url}/admin/billing/subscription/{subscription.pk}/change/")
    assert page.get_by_text("view at Stripe").count() == 1
    page.get_by_role("link", name="Change plan").click()
    page.select_option("select[name=plan]", label="Pro")
    page.get_by_role("button", name="Preview").click()
    page.locator("table.proration-preview").wait_for()
    assert page.get_by_text("Next invoice (incl. VAT)").is_visible()
    page.get_by_role("button", name="Change to Pro now").click()

    page.get_by_text("Café Kanel is now on Pro.").wait_for()
    subscription.refresh_from_db()
    assert subscription.plan == plans["Pro"]
