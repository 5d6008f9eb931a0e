"""The billing admin: plans and their features, offers, subscriptions with invoices, plan
changes with Stripe's proration preview, cancel at period end; per staff group."""

import pytest

from billing import services
from billing.models import Offer, Plan, Subscription
from core.models import Event
from tests.admin_forms import change_form_data
from tests.billing.conftest import EXPORTS, INSIGHTS, deliver_all
from tests.conftest import outbox_delivered

pytestmark = pytest.mark.django_db


@pytest.fixture
def cafe(make_business):
    return make_business("Café Kanel", contact_email="agnes@kanel.se")


@pytest.fixture
def on_plus(client, plans, cafe, stripe_fake) -> Subscription:
    offer = services.offer_create(business=cafe, plan=plans["Plus"], method=Offer.Method.CHECKOUT)
    offer = services.offer_send(offer_id=offer.pk)
    stripe_fake.checkout_complete(offer.stripe_checkout_session_id)
    deliver_all(client, stripe_fake, stripe_fake.billing_events())
    return Subscription.objects.get()


def test_plan_features_are_chosen_from_the_declared_features(manager_client, plans):
    plan = plans["Bas"]
    page = manager_client.get(f"/admin/billing/plan/{plan.pk}/change/")
    assert INSIGHTS.name in page.content.decode()

    response = manager_client.post(
        f"/admin/billing/plan/{plan.pk}/change/",
        change_form_data(page, features=[EXPORTS.name]),
    )

    assert response.status_code == 302
    assert Plan.objects.get(pk=plan.pk).features == [EXPORTS.name]


def test_plan_with_an_unknown_feature_is_refused_with_a_message(manager_client, plans):
    url = f"/admin/billing/plan/{plans['Bas'].pk}/change/"
    response = manager_client.post(
        url, change_form_data(manager_client.get(url), features=["nope"])
    )
    assert response.status_code == 200
    assert "nope is not one of the available choices" in response.content.decode()


def test_offer_from_the_admin_sends_the_checkout_link(manager_client, plans, cafe, stripe_fake):
    response = manager_client.post(
        "/admin/billing/offer/add/",
        {"business": cafe.pk, "plan": plans["Pro"].pk, "method": "checkout"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    offer = Offer.objects.get()
    assert offer.status == Offer.Status.SENT
    assert len(outbox_delivered()) == 1


def test_offer_refused_in_the_admin_says_why(manager_client, plans, make_business):
    silent = make_business("Café Tyst")
    response = manager_client.post(
        "/admin/billing/offer/add/",
        {"business": silent.pk, "plan": plans["Pro"].pk, "method": "checkout"},
    )
    assert response.status_code == 200
    assert "no contact e-mail address" in response.content.decode()
    assert not Offer.objects.exists()


def test_subscription_page_shows_invoices_with_amounts_and_stripe_links(
    viewer_client, on_plus, stripe_fake
):
    page = viewer_client.get(f"/admin/billing/subscription/{on_plus.pk}/change/").content.decode()

    (invoice,) = stripe_fake.invoices()
    assert "SEK\xa0748.75" in page
    assert invoice["hosted_invoice_url"] in page
    assert "Change plan" not in page  # viewers read only


def test_plan_change_shows_stripes_proration_preview_then_changes(
    manager_client, on_plus, plans, stripe_fake
):
    url = f"/admin/billing/subscription/{on_plus.pk}/change-plan/"
    preview = manager_client.get(url, {"plan": plans["Pro"].pk}).content.decode()
    assert "Stripe&#x27;s preview" in preview or "Stripe's preview" in preview
    assert "Change to Pro now" in preview

    response = manager_client.post(url, {"plan": plans["Pro"].pk})

    assert response.status_code == 302
    on_plus.refresh_from_db()
    assert on_plus.plan == plans["Pro"]
    (at_stripe,) = stripe_fake.subscriptions()
    assert at_stripe["items"]["data"][0]["price"]["id"] == plans["Pro"].stripe_price_id
    assert Event.objects.filter(action="subscription_plan_changed").count() == 1


def test_agents_cannot_change_a_plan(agent_client, on_plus, plans):
    url = f"/admin/billing/subscription/{on_plus.pk}/change-plan/"
    assert agent_client.post(url, {"plan": plans["Pro"].pk}).status_code == 403
    assert Subscription.objects.get().plan == plans["Plus"]


def test_cancel_at_period_end_from_the_list(manager_client, on_plus, stripe_fake):
    response = manager_client.post(
        "/admin/billing/subscription/",
        {"action": "cancel_at_period_end_action", "_selected_action": [on_plus.pk]},
    )

    assert response.status_code == 302
    (at_stripe,) = stripe_fake.subscriptions()
    assert at_stripe["cancel_at_period_end"] is True
    on_plus.refresh_from_db()
    assert on_plus.cancel_at_period_end is True
    assert on_plus.status == Subscription.Status.ACTIVE  # it runs until the period ends


def test_billing_admin_pages_open_for_managers(manager_client, on_plus):
    for url in (
        "/admin/billing/plan/",
        "/admin/billing/offer/",
        "/admin/billing/offer/add/",
        "/admin/billing/subscription/",
        "/admin/billing/invoice/",
        f"/admin/billing/subscription/{on_plus.pk}/change/",
        f"/admin/billing/subscription/{on_plus.pk}/change-plan/",
    ):
        assert manager_client.get(url).status_code == 200, url


def test_success_report_offers_a_plan_then_shows_the_plan_chosen(
    client, manager_client, plans, make_business, make_pilot, stripe_fake
):
    from pilots.services import enrollment_create, pilot_activate

    pilot = pilot_activate(pilot=make_pilot("Kanel pilot"))
    cafe = make_business("Café Kanel", contact_email="agnes@kanel.se")
    enrollment_create(pilot=pilot, business=cafe)
    report_url = f"/admin/pilots/pilot/{pilot.pk}/report/"
    page = manager_client.get(report_url).content.decode()
    offer_url = f"/admin/billing/offer/add/?business={cafe.pk}&amp;pilot={pilot.pk}"
    assert "No plan yet" in page and offer_url in page

    form = manager_client.get(offer_url.replace("&amp;", "&")).content.decode()
    assert f'<option value="{cafe.pk}" selected>' in form
    manager_client.post(
        "/admin/billing/offer/add/",
        {"business": cafe.pk, "pilot": pilot.pk, "plan": plans["Plus"].pk, "method": "checkout"},
    )
    offer = Offer.objects.get()
    assert offer.pilot == pilot
    stripe_fake.checkout_complete(offer.stripe_checkout_session_id)
    deliver_all(client, stripe_fake, stripe_fake.billing_events())

    page = manager_client.get(report_url).content.decode()
    assert "Plan: Plus (active)" in page
    assert "Offer a plan" not in page
