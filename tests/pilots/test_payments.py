"""Rewards are created with the feedback, held by the fraud rules, and paid exactly once."""

import datetime

import pytest
from django.utils import timezone

from core.models import Message
from pilots import intake, services
from pilots.models import Payment, RewardRecipient
from tests.conftest import good_feedback_submit, outbox_delivered

pytestmark = pytest.mark.django_db


def submit(code, *, email="anna@example.se", phone="", client="c" * 64):
    return good_feedback_submit(
        code, client_hash=client, contact_email=email, contact_phone=phone, consent=True
    )


def payable(recipient: RewardRecipient, fake) -> RewardRecipient:
    recipient.stripe_account_id = fake.account_add(payouts_enabled=True)
    recipient.onboarding = RewardRecipient.Onboarding.PAYABLE
    recipient.save()
    return recipient


@pytest.fixture
def codes(enrolled, make_business, active_pilot):
    """Codes at three cafés in the same pilot."""
    cafes = [enrolled.business] + [make_business(f"Café {n}") for n in (2, 3)]
    for cafe in cafes[1:]:
        services.enrollment_create(pilot=active_pilot, business=cafe)
    return [
        services.qr_codes_generate(business=cafe, placements=[f"T{n}" for n in range(3)])
        for cafe in cafes
    ]


# --- creation and fraud holds -------------------------------------------------
def test_eligible_feedback_creates_its_pending_payment_and_queues_a_claim_link(open_code):
    feedback = submit(open_code)

    payment = Payment.objects.get()
    assert payment.feedback == feedback
    assert payment.status == Payment.Status.PENDING
    assert (payment.amount, payment.currency) == (1000, "SEK")
    assert payment.recipient.contact_email == "anna@example.se"
    (message,) = Message.objects.all()
    assert (message.recipient, message.purpose) == ("anna@example.se", "reward_claim")
    assert "/rewards/claim/" in message.body
    (delivered,) = outbox_delivered()
    assert delivered.to == ["anna@example.se"]
    assert delivered.body == message.body


def test_feedback_that_does_not_qualify_has_no_payment(open_code):
    intake.feedback_submit(
        qr_code=open_code,
        client_hash="c" * 64,
        rating=3,
        categories=[],
        comment="ok",
        language="sv",
        contact_email="a@example.se",
        consent=True,
    )

    assert Payment.objects.count() == 0


def test_fraud_rule_second_reward_at_one_business_in_a_day_is_held(codes):
    first = submit(codes[0][0], client="1" * 64)
    second = submit(codes[0][1], client="2" * 64)

    assert first.payment.status == Payment.Status.PENDING
    assert second.payment.status == Payment.Status.HELD
    assert "at this business today" in second.payment.hold_reason


def test_fraud_rule_fourth_reward_of_a_recipient_in_a_day_is_held(codes, settings):
    settings.REWARD_LIMIT_PER_RECIPIENT_BUSINESS_DAY = 5
    rewards = [submit(codes[n % 3][n // 3], client=f"{n}" * 64) for n in range(4)]

    statuses = [feedback.payment.status for feedback in rewards]
    assert statuses == ["pending"] * 3 + ["held"]
    assert "for this recipient today" in rewards[3].payment.hold_reason


def test_fraud_rule_sixth_reward_from_one_client_in_a_day_is_held(codes):
    rewards = [
        submit(codes[n % 3][n // 3], email=f"person{n}@example.se", client="f" * 64)
        for n in range(6)
    ]

    assert [feedback.payment.status for feedback in rewards] == ["pending"] * 5 + ["held"]
    assert "one device or network" in rewards[5].payment.hold_reason


def test_fraud_rules_count_only_today(codes):
    earlier = submit(codes[0][0], client="1" * 64)
    Payment.objects.filter(pk=earlier.payment.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=1)
    )

    assert submit(codes[0][1], client="2" * 64).payment.status == Payment.Status.PENDING
