"""Chaos: offers made through a fault-injecting proxy never make two subscriptions for one offer.

Every request to Stripe meets a fate from the proxy's deck: a 500 before or
after Stripe acted, a timeout after it acted, a reset connection. Offers are
sent again and again (the job and a person's button) until the faults stop
and the job settles what is unknown. At quiescence each offer has exactly
one subscription (or Checkout session and one e-mail) at Stripe.
"""

import collections

import pytest

from billing import services
from billing.models import Offer
from tests.conftest import outbox_delivered
from tests.fault_proxy import FAULTS, fault_proxy

pytestmark = [pytest.mark.chaos, pytest.mark.django_db]

SEED = 20261130
INVOICED, CHECKOUT = 8, 4


def test_chaos_lost_answers_never_make_two_subscriptions_for_one_offer(
    plans, make_business, stripe_fake, settings
):
    offers = []
    for number in range(INVOICED + CHECKOUT):
        cafe = make_business(f"Café {number}", contact_email=f"cafe{number}@example.se")
        method = Offer.Method.INVOICE if number < INVOICED else Offer.Method.CHECKOUT
        offers.append(services.offer_create(business=cafe, plan=plans["Bas"], method=method).pk)

    with fault_proxy(stripe_fake.url, seed=SEED, hang_seconds=0.8) as proxy:
        settings.STRIPE_API_BASE = proxy.url
        settings.STRIPE_TIMEOUT_SECONDS = 0.5
        proxy.faults(0.15)  # 60 % of requests meet a fault
        statuses = collections.Counter()
        for _round in range(4):
            for offer_id in offers:
                for _twice in range(2):
                    statuses[services.offer_send(offer_id=offer_id).status] += 1
        proxy.calm()
        settled = services.offers_settle()
        faults = {kind: proxy.counts[kind] for kind in FAULTS}

    print(f"\n[offer chaos] sends: {dict(statuses)}; faults: {faults}; settled: {settled}")
    assert all(faults.values()), faults
    assert statuses[Offer.Status.UNKNOWN] > 0
    final = {offer.pk: offer for offer in Offer.objects.all()}
    assert Offer.Status.UNKNOWN not in {offer.status for offer in final.values()}
    assert Offer.Status.FAILED not in {offer.status for offer in final.values()}

    per_offer = collections.Counter(s["metadata"]["offer"] for s in stripe_fake.subscriptions())
    assert set(per_offer.values()) == {1}
    for offer_id in offers[:INVOICED]:
        (at_stripe,) = [
            s for s in stripe_fake.subscriptions() if s["metadata"]["offer"] == str(offer_id)
        ]
        assert final[offer_id].status == Offer.Status.SUBSCRIBED
        assert final[offer_id].stripe_subscription_id == at_stripe["id"]
    sessions = collections.Counter(s["metadata"]["offer"] for s in stripe_fake.checkout_sessions())
    assert sessions == {str(offer_id): 1 for offer_id in offers[INVOICED:]}
    assert len(outbox_delivered()) == CHECKOUT
    assert len(stripe_fake.state.customers) == INVOICED + CHECKOUT
