"""Reconciliation reads every transfer, page by page, and the fake lists like Stripe does."""

from datetime import timedelta

import pytest
import stripe
from django.utils import timezone

from pilots import stripe_events
from pilots.models import Payout, RewardRecipient
from support.models import Ticket
from tests.conftest import STRIPE_TEST_KEY

pytestmark = pytest.mark.django_db


def listed(fake, **params) -> list[dict]:
    client = stripe.StripeClient(STRIPE_TEST_KEY, base_addresses={"api": fake.url})
    return client.v1.transfers.list(params=params).data


def test_fake_transfer_list_honours_limit_starting_after_created_and_group(stripe_fake):
    account = stripe_fake.account_add()
    made = [
        stripe_fake.transfer_add(amount=100 + n, destination=account, transfer_group=f"g{n % 2}")
        for n in range(5)
    ]
    newest_first = [t["id"] for t in reversed(made)]

    first_page = listed(stripe_fake, limit=2)
    next_page = listed(stripe_fake, limit=2, starting_after=first_page[-1].id)
    group = listed(stripe_fake, transfer_group="g1", limit=10)
    none_yet = listed(stripe_fake, created={"gte": made[-1]["created"] + 10}, limit=10)
    all_now = listed(stripe_fake, created={"lt": made[-1]["created"] + 1}, limit=10)

    assert [t.id for t in first_page] == newest_first[:2]
    assert [t.id for t in next_page] == newest_first[2:4]
    assert {t.id for t in group} == {made[1]["id"], made[3]["id"]}
    assert none_yet == [] and len(all_now) == 5


def test_reconciliation_reads_past_250_transfers_and_finds_the_one_missing(stripe_fake):
    recipient = RewardRecipient.objects.create(
        contact_hash="f" * 64, stripe_account_id=stripe_fake.account_add(), onboarding="payable"
    )
    now = timezone.now()
    for n in range(260):
        transfer = stripe_fake.transfer_add(
            amount=1000,
            destination=recipient.stripe_account_id,
            transfer_group=f"pilotops-payout-{n}",
        )
        if n == 137:
            continue  # Stripe made it; nothing here records it
        Payout.objects.create(
            recipient=recipient,
            amount=1000,
            status=Payout.Status.PAID,
            idempotency_key=f"pilotops-payout-{n}",
            stripe_transfer_id=transfer["id"],
            sent_at=now,
            paid_at=now,
        )

    counts = stripe_events.stripe_reconcile(
        start=now - timedelta(days=7), end=now + timedelta(minutes=1)
    )

    assert counts == {"transfers at Stripe": 260, "paid payouts here": 259, "mismatches": 1}
    (ticket,) = Ticket.objects.filter(category=Ticket.Category.PAYMENTS)
    assert "no paid payout here records" in ticket.description
