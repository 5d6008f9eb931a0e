"""Rewards are created with the feedback, held by the fraud rules, and paid exactly once."""

import datetime
import logging

import pytest
from django.utils import timezone

from core.models import Message
from pilots import payments, services
from pilots.models import Payment, Payout, PayoutAttempt, RewardRecipient
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
    services.feedback_submit(
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


# --- the payout run -----------------------------------------------------------
def test_payout_run_pays_a_payable_recipient_once_for_all_their_payments(
    codes, stripe_fake, settings
):
    settings.REWARD_LIMIT_PER_RECIPIENT_BUSINESS_DAY = 5
    for n in range(3):
        submit(codes[n][0], client=f"{n}" * 64)
    payable(RewardRecipient.objects.get(), stripe_fake)

    summary = payments.payouts_run()
    again = payments.payouts_run()

    (transfer,) = stripe_fake.transfers()
    assert transfer["amount"] == 3000
    assert transfer["currency"] == "sek"
    assert summary.paid == 1 and again.paid == 0
    assert set(Payment.objects.values_list("status", flat=True)) == {"paid"}
    payout = Payout.objects.get()
    assert payout.stripe_transfer_id == transfer["id"]
    assert payout.attempts_made.get().outcome == PayoutAttempt.Outcome.SUCCEEDED


def test_payout_run_waits_for_recipients_still_onboarding(open_code, stripe_fake):
    submit(open_code)

    summary = payments.payouts_run()

    assert summary.payouts_created == 0
    assert stripe_fake.transfers() == []
    assert Payment.objects.get().status == Payment.Status.PENDING


def test_payout_run_without_stripe_waits_and_the_admin_says_why(
    open_code, manager_client, settings
):
    settings.STRIPE_SECRET_KEY = ""
    submit(open_code)

    summary = payments.payouts_run()
    page = manager_client.get("/admin/pilots/payment/").content.decode()

    assert summary.skipped == "Stripe is not configured"
    assert Payment.objects.get().status == Payment.Status.PENDING
    assert "Stripe is not configured" in page


def test_payouts_switched_off_do_nothing_and_lose_nothing(open_code, stripe_fake):
    payable(submit(open_code).payment.recipient, stripe_fake)
    payments.payout_switch_set(enabled=False, note="Stripe incident")

    off = payments.payouts_run()
    payments.payout_switch_set(enabled=True)
    on = payments.payouts_run()

    assert off.skipped == "payouts are switched off"
    assert on.paid == 1
    assert len(stripe_fake.transfers()) == 1
    assert Payment.objects.get().status == Payment.Status.PAID


def test_held_payment_is_paid_after_release_and_cancelled_never(codes, stripe_fake):
    submit(codes[0][0], client="1" * 64)
    held = submit(codes[0][1], client="2" * 64).payment
    cancelled = submit(codes[1][0], client="3" * 64).payment
    payable(held.recipient, stripe_fake)
    payments.payment_cancel(payment=cancelled, reason="same person twice")

    payments.payouts_run()
    assert [t["amount"] for t in stripe_fake.transfers()] == [1000]  # the first only

    payments.payment_release(payment=held)
    payments.payouts_run()

    held.refresh_from_db()
    cancelled.refresh_from_db()
    assert held.status == Payment.Status.PAID
    assert cancelled.status == Payment.Status.CANCELLED
    assert [t["amount"] for t in stripe_fake.transfers()] == [1000, 1000]


def test_stripe_500_then_retry_pays_once_with_the_same_key(open_code, stripe_fake):
    payable(submit(open_code).payment.recipient, stripe_fake)
    stripe_fake.fail_next("/v1/transfers", status=500)

    first = payments.payouts_run()
    payout = Payout.objects.get()
    assert first.retrying == 1
    assert payout.status == Payout.Status.PENDING
    assert payout.next_attempt_at > timezone.now()
    assert stripe_fake.transfers() == []

    second = payments.payouts_run(now=payout.next_attempt_at + datetime.timedelta(seconds=1))

    assert second.paid == 1
    assert len(stripe_fake.transfers()) == 1
    keys = [key for method, path, key in stripe_fake.state.requests if path == "/v1/transfers"]
    assert keys == [payout.idempotency_key, payout.idempotency_key]
    assert Payment.objects.get().status == Payment.Status.PAID


def test_timeout_after_stripe_accepted_the_transfer_is_recovered_without_a_second_one(
    open_code, stripe_fake
):
    payable(submit(open_code).payment.recipient, stripe_fake)
    stripe_fake.delay_next("/v1/transfers", seconds=3)  # longer than the client waits

    first = payments.payouts_run()
    assert first.retrying == 1
    assert len(stripe_fake.transfers()) == 1  # Stripe did make it

    payout = Payout.objects.get()
    payments.payouts_run(now=payout.next_attempt_at + datetime.timedelta(seconds=1))

    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert len(stripe_fake.transfers()) == 1
    assert payout.stripe_transfer_id == stripe_fake.transfers()[0]["id"]


def test_payout_stuck_in_processing_is_settled_by_asking_stripe(open_code, stripe_fake):
    payable(submit(open_code).payment.recipient, stripe_fake)
    payments.payouts_run()
    payout = Payout.objects.get()
    # As if the worker died after Stripe answered but before the answer was saved:
    Payout.objects.filter(pk=payout.pk).update(
        status=Payout.Status.PROCESSING,
        stripe_transfer_id="",
        sent_at=timezone.now() - datetime.timedelta(minutes=31),
    )
    Payment.objects.update(status=Payment.Status.PROCESSING, paid_at=None)

    summary = payments.payouts_run()

    payout.refresh_from_db()
    assert summary.recovered == 1
    assert payout.status == Payout.Status.PAID
    assert len(stripe_fake.transfers()) == 1
    assert Payment.objects.get().status == Payment.Status.PAID


def test_permanent_error_fails_the_payout_and_returns_payments_with_the_error(
    open_code, stripe_fake, caplog
):
    recipient = submit(open_code).payment.recipient
    recipient.stripe_account_id = stripe_fake.account_add(payouts_enabled=False)
    recipient.onboarding = RewardRecipient.Onboarding.PAYABLE  # we think so; Stripe disagrees
    recipient.save()

    with caplog.at_level(logging.ERROR, logger="pilots.payments"):
        summary = payments.payouts_run()
    again = payments.payouts_run()

    payment = Payment.objects.get()
    assert summary.failed == 1
    assert Payout.objects.get().status == Payout.Status.FAILED
    assert payment.status == Payment.Status.PENDING
    assert "insufficient_capabilities_for_transfer" in payment.last_error
    assert again.payouts_created == 0  # waits for a person
    assert "failed permanently" in caplog.text
    from support.models import Ticket

    ticket = Ticket.objects.get(category=Ticket.Category.PAYMENTS)
    assert ticket.source == Ticket.Source.SYSTEM
    assert ticket.business == open_code.business
    assert "insufficient_capabilities_for_transfer" in ticket.description

    stripe_fake.enable_payouts(recipient.stripe_account_id)
    payments.payment_retry(payment=payment)
    assert payments.payouts_run().paid == 1


def test_mark_paid_by_hand_needs_a_reason_and_is_never_sent(open_code, stripe_fake):
    payment = submit(open_code).payment
    payable(payment.recipient, stripe_fake)

    with pytest.raises(payments.PaymentError):
        payments.payment_mark_paid(payment=payment, reason="  ")
    payments.payment_mark_paid(payment=payment, reason="paid by Swish at the counter")
    payments.payouts_run()

    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert stripe_fake.transfers() == []
