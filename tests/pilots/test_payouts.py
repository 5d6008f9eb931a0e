"""Payouts: paid at most once, and only Stripe's word settles one whose answer was lost."""

import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from core.leases import lease_acquire
from pilots import payments, payouts
from pilots.models import Payment, Payout, PayoutAttempt, RewardRecipient
from pilots.services import enrollment_create, qr_codes_generate
from support.models import Ticket
from tests.conftest import good_feedback_submit, recipient_payable

pytestmark = pytest.mark.django_db

TRANSFERS = "/v1/transfers"


def submit(code, *, email="anna@example.se", client="c" * 64):
    return good_feedback_submit(code, client_hash=client, contact_email=email, consent=True)


def paid_reward(code, fake, **submission) -> Payment:
    payment = submit(code, **submission).payment
    recipient_payable(payment.recipient, fake)
    return payment


def later(payout: Payout) -> timezone.datetime:
    """A moment after the payout's backoff has passed."""
    payout.refresh_from_db()
    return (payout.next_attempt_at or timezone.now()) + timedelta(seconds=1)


def transfer_keys(fake) -> list[str]:
    return [
        key for method, path, key in fake.state.requests if (method, path) == ("POST", TRANSFERS)
    ]


@pytest.fixture
def codes(enrolled, make_business, active_pilot):
    """Codes at three cafés in the same pilot."""
    cafes = [enrolled.business] + [make_business(f"Café {n}") for n in (2, 3)]
    for cafe in cafes[1:]:
        enrollment_create(pilot=active_pilot, business=cafe)
    return [qr_codes_generate(business=cafe, placements=["T1", "T2"]) for cafe in cafes]


# --- the run ------------------------------------------------------------------------
def test_payout_run_pays_a_payable_recipient_once_for_all_their_payments(
    codes, stripe_fake, settings
):
    settings.REWARD_LIMIT_PER_RECIPIENT_BUSINESS_DAY = 5
    for n in range(3):
        submit(codes[n][0], client=f"{n}" * 64)
    recipient_payable(RewardRecipient.objects.get(), stripe_fake)

    summary = payouts.payouts_run()
    again = payouts.payouts_run()

    (transfer,) = stripe_fake.transfers()
    assert (transfer["amount"], transfer["currency"]) == (3000, "sek")
    assert summary.outcomes == {payouts.PAID: 1} and again.outcomes == {}
    assert set(Payment.objects.values_list("status", flat=True)) == {"paid"}
    payout = Payout.objects.get()
    assert payout.stripe_transfer_id == transfer["id"]
    assert transfer["transfer_group"] == payout.transfer_group
    assert payout.attempts_made.get().outcome == PayoutAttempt.Outcome.SUCCEEDED


def test_payout_run_waits_for_recipients_still_onboarding(open_code, stripe_fake):
    submit(open_code)

    summary = payouts.payouts_run()

    assert summary.payouts_created == 0
    assert stripe_fake.transfers() == []
    assert Payment.objects.get().status == Payment.Status.PENDING


def test_payout_run_without_stripe_waits_and_the_admin_says_why(
    open_code, manager_client, settings
):
    settings.STRIPE_SECRET_KEY = ""
    submit(open_code)

    summary = payouts.payouts_run()
    page = manager_client.get("/admin/pilots/payment/").content.decode()

    assert summary.skipped == "Stripe is not configured"
    assert Payment.objects.get().status == Payment.Status.PENDING
    assert "Stripe is not configured" in page


def test_payouts_switched_off_do_nothing_and_lose_nothing(open_code, stripe_fake):
    paid_reward(open_code, stripe_fake)
    payouts.payout_switch_set(enabled=False, note="Stripe incident")

    off = payouts.payouts_run()
    payouts.payout_switch_set(enabled=True)
    on = payouts.payouts_run()

    assert off.skipped == "payouts are switched off"
    assert on.outcomes == {payouts.PAID: 1}
    assert len(stripe_fake.transfers()) == 1
    assert Payment.objects.get().status == Payment.Status.PAID


def test_held_payment_is_paid_after_release_and_cancelled_never(codes, stripe_fake):
    submit(codes[0][0], client="1" * 64)
    held = submit(codes[0][1], client="2" * 64).payment
    cancelled = submit(codes[1][0], client="3" * 64).payment
    recipient_payable(held.recipient, stripe_fake)
    payments.payment_cancel(payment=cancelled, reason="same person twice")

    payouts.payouts_run()
    assert [t["amount"] for t in stripe_fake.transfers()] == [1000]  # the first only

    payments.payment_release(payment=held)
    payouts.payouts_run()

    held.refresh_from_db()
    cancelled.refresh_from_db()
    assert held.status == Payment.Status.PAID
    assert cancelled.status == Payment.Status.CANCELLED
    assert [t["amount"] for t in stripe_fake.transfers()] == [1000, 1000]


def test_one_payout_run_at_a_time_and_a_killed_runs_lease_is_taken_over(
    open_code, stripe_fake, settings
):
    paid_reward(open_code, stripe_fake)
    settings.PAYOUT_RUN_LEASE_SECONDS = 0.2
    assert lease_acquire(name=payouts.RUN_LEASE, holder="a run that was killed", seconds=0.2)

    blocked = payouts.payouts_run()
    time.sleep(0.3)
    taken_over = payouts.payouts_run()

    assert blocked.skipped == "another payout run is in progress"
    assert stripe_fake.transfers() and taken_over.outcomes == {payouts.PAID: 1}


# --- lost answers -------------------------------------------------------------------
def test_500_before_stripe_saw_it_is_unknown_then_asked_then_sent_again_with_the_same_key(
    open_code, stripe_fake
):
    paid_reward(open_code, stripe_fake)
    stripe_fake.fail_next(TRANSFERS, status=500)

    first = payouts.payouts_run()
    payout = Payout.objects.get()
    assert first.outcomes == {payouts.UNKNOWN: 1}
    assert payout.status == Payout.Status.UNKNOWN, "a lost answer is not a failure"
    assert Payment.objects.get().status == Payment.Status.PROCESSING

    asked = payouts.payouts_run()  # asks Stripe: no transfer; waits for the backoff
    payout.refresh_from_db()
    assert asked.outcomes == {payouts.RETRY: 1}
    assert payout.status == Payout.Status.PENDING and payout.last_checked_at

    sent = payouts.payouts_run(now=later(payout))

    assert sent.outcomes == {payouts.PAID: 1}
    assert len(stripe_fake.transfers()) == 1
    assert transfer_keys(stripe_fake) == [payout.idempotency_key] * 2
    assert list(payout.attempts_made.values_list("number", "outcome")) == [
        (1, PayoutAttempt.Outcome.UNKNOWN),
        (2, PayoutAttempt.Outcome.SUCCEEDED),
    ]
    assert Payment.objects.get().status == Payment.Status.PAID


@pytest.mark.parametrize("loss", ["500 after the transfer", "read timeout after the transfer"])
def test_answer_lost_after_stripe_made_the_transfer_is_found_by_asking_never_sent_twice(
    open_code, stripe_fake, loss
):
    paid_reward(open_code, stripe_fake)
    if loss.startswith("500"):
        stripe_fake.lose_answer_next(TRANSFERS, status=500)
    else:
        stripe_fake.delay_next(TRANSFERS, seconds=3)  # longer than the client waits

    first = payouts.payouts_run()
    assert first.outcomes == {payouts.UNKNOWN: 1}
    assert len(stripe_fake.transfers()) == 1, "Stripe did make it"

    asked = payouts.payouts_run()

    payout = Payout.objects.get()
    assert asked.outcomes == {payouts.PAID: 1}
    assert payout.status == Payout.Status.PAID
    assert payout.stripe_transfer_id == stripe_fake.transfers()[0]["id"]
    assert transfer_keys(stripe_fake) == [payout.idempotency_key], "one request only"
    assert Payment.objects.get().status == Payment.Status.PAID


def test_answers_lost_every_time_need_attention_and_stripe_keeps_being_asked(
    open_code, stripe_fake, settings
):
    settings.PAYOUT_MAX_ATTEMPTS = 3
    paid_reward(open_code, stripe_fake)
    stripe_fake.fail_next(TRANSFERS, status=503, count=3, method="POST")
    payout = None
    for _ in range(6):
        payouts.payouts_run(now=later(payout) if payout else None)
        payout = Payout.objects.get()
        if payout.status == Payout.Status.NEEDS_ATTENTION:
            break

    assert payout.status == Payout.Status.NEEDS_ATTENTION
    assert payout.attempts == 3
    ticket = Ticket.objects.get(dedupe_key=f"payout-attention:{payout.pk}")
    assert "Do not pay these rewards by hand" in ticket.description
    assert Payment.objects.get().status == Payment.Status.PROCESSING
    # While Stripe cannot be asked, it stays unsettled; no more transfer requests are sent.
    stripe_fake.fail_next("/v1/transfers", status=500, count=1)
    payouts.payouts_run(now=later(payout))
    payout.refresh_from_db()
    assert payout.status == Payout.Status.NEEDS_ATTENTION
    assert len(transfer_keys(stripe_fake)) == 3


def test_needs_attention_is_paid_when_stripe_finally_reports_the_transfer(
    open_code, stripe_fake, settings
):
    settings.PAYOUT_MAX_ATTEMPTS = 1
    paid_reward(open_code, stripe_fake)
    stripe_fake.lose_answer_next(TRANSFERS, status=502)
    payouts.payouts_run()
    payout = Payout.objects.get()
    assert payout.status == Payout.Status.NEEDS_ATTENTION

    payouts.payouts_run()

    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert len(stripe_fake.transfers()) == 1


def test_needs_attention_with_no_transfer_at_stripe_fails_and_then_may_be_paid_by_hand(
    open_code, stripe_fake, settings
):
    settings.PAYOUT_MAX_ATTEMPTS = 1
    payment = paid_reward(open_code, stripe_fake)
    stripe_fake.fail_next(TRANSFERS, status=500)
    payouts.payouts_run()
    with pytest.raises(payments.PaymentError, match="Ask Stripe now"):
        payments.payment_mark_paid(payment=payment, reason="Swish")

    payouts.payouts_run()

    payout = Payout.objects.get()
    payment.refresh_from_db()
    assert payout.status == Payout.Status.FAILED and payout.no_transfer_confirmed_at
    assert payment.status == Payment.Status.FAILED
    assert "no transfer was made" in payment.last_error
    payments.payment_mark_paid(payment=payment, reason="paid by Swish at the counter")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert stripe_fake.transfers() == []


# --- refusals -----------------------------------------------------------------------
def test_definitive_refusal_fails_the_payout_payments_wait_for_a_person(open_code, stripe_fake):
    recipient = submit(open_code).payment.recipient
    recipient_payable(recipient, stripe_fake)
    stripe_fake.state.accounts[recipient.stripe_account_id]["capabilities"]["transfers"] = (
        "inactive"  # we think it is payable; Stripe disagrees
    )

    summary = payouts.payouts_run()
    again = payouts.payouts_run()

    payment = Payment.objects.get()
    payout = Payout.objects.get()
    assert summary.outcomes == {payouts.FAILED: 1}
    assert payout.status == Payout.Status.FAILED and payout.no_transfer_confirmed_at
    assert payment.status == Payment.Status.FAILED
    assert "insufficient_capabilities_for_transfer" in payment.last_error
    assert again.payouts_created == 0, "waits for a person"
    ticket = Ticket.objects.get(dedupe_key=f"payout-failed:{payout.pk}")
    assert ticket.business == open_code.business
    assert "Stripe refused the transfer" in ticket.description

    stripe_fake.enable_payouts(recipient.stripe_account_id)
    payments.payment_retry(payment=payment)
    assert payouts.payouts_run().outcomes == {payouts.PAID: 1}
    assert len(stripe_fake.transfers()) == 1


def test_refusal_after_an_earlier_lost_answer_asks_stripe_first(open_code, stripe_fake):
    paid_reward(open_code, stripe_fake)
    stripe_fake.lose_answer_next(TRANSFERS, status=500)  # the transfer is made; answer lost
    payouts.payouts_run()
    payout = Payout.objects.get()
    # The lookup fails once, so the payout is sent again; Stripe refuses that request.
    stripe_fake.fail_next("/v1/transfers", status=500)
    payouts.payouts_run()
    Payout.objects.filter(pk=payout.pk).update(status=Payout.Status.PENDING)
    stripe_fake.fail_next(TRANSFERS, status=400)

    payouts.payouts_run(now=later(payout))

    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID, "the refusal did not fail a payout Stripe made"
    assert len(stripe_fake.transfers()) == 1


# --- crashes ------------------------------------------------------------------------
def test_run_killed_before_its_request_reached_stripe_is_settled_and_numbering_goes_on(
    open_code, stripe_fake, settings
):
    paid_reward(open_code, stripe_fake)
    stripe_fake.fail_next(TRANSFERS, status=500)
    payouts.payouts_run()
    payout = Payout.objects.get()
    payouts.payouts_run()  # asked: none; pending again
    # The next send commits attempt 2 and is killed before its request leaves:
    Payout.objects.filter(pk=payout.pk).update(
        status=Payout.Status.PROCESSING,
        attempts=2,
        sent_at=timezone.now() - timedelta(hours=1),
    )
    PayoutAttempt.objects.create(payout=payout, number=2, started_at=timezone.now())

    first = payouts.payouts_run()
    second = payouts.payouts_run(now=later(payout))

    assert first.abandoned == 1 and second.abandoned == 0
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert list(payout.attempts_made.values_list("number", "outcome")) == [
        (1, PayoutAttempt.Outcome.UNKNOWN),
        (2, PayoutAttempt.Outcome.UNKNOWN),
        (3, PayoutAttempt.Outcome.SUCCEEDED),
    ]
    assert len(stripe_fake.transfers()) == 1


def test_two_recoveries_at_once_settle_an_abandoned_payout_once(open_code, stripe_fake):
    paid_reward(open_code, stripe_fake)
    payouts.payouts_run()
    payout = Payout.objects.get()
    Payout.objects.filter(pk=payout.pk).update(
        status=Payout.Status.PROCESSING,
        stripe_transfer_id="",
        paid_at=None,
        sent_at=timezone.now() - timedelta(hours=1),
    )
    Payment.objects.update(status=Payment.Status.PROCESSING, paid_at=None)

    settled = [payouts.payouts_abandoned_settle(), payouts.payouts_abandoned_settle()]
    outcomes = [payouts.payout_settle(payout_id=payout.pk) for _ in range(2)]

    assert settled == [1, 0]
    assert outcomes == [payouts.PAID, ""]
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert len(stripe_fake.transfers()) == 1


def test_backoff_is_checked_again_when_the_payout_is_locked(open_code, stripe_fake):
    paid_reward(open_code, stripe_fake)
    stripe_fake.fail_next(TRANSFERS, status=500)
    payouts.payouts_run()
    payouts.payouts_run()  # asked: pending again, due only after the backoff
    payout = Payout.objects.get()

    assert payouts.payout_send(payout_id=payout.pk) == ""
    assert len(transfer_keys(stripe_fake)) == 1


# --- people ------------------------------------------------------------------------
def test_retry_cancel_and_mark_paid_are_refused_while_the_payout_is_unsettled(
    open_code, stripe_fake
):
    payment = paid_reward(open_code, stripe_fake)
    stripe_fake.lose_answer_next(TRANSFERS, status=500)
    payouts.payouts_run()
    payout = Payout.objects.get()

    for action in (payments.payment_retry, payments.payment_cancel):
        with pytest.raises(payments.PaymentError, match=f"payout {payout.pk} is answer lost"):
            action(payment=payment)
    with pytest.raises(payments.PaymentError, match="Ask Stripe now"):
        payments.payment_mark_paid(payment=payment, reason="Swish")

    assert payments.payment_ask_stripe(payment=payment) == payouts.PAID
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert len(stripe_fake.transfers()) == 1


def test_mark_paid_by_hand_needs_a_reason_and_is_never_sent(open_code, stripe_fake):
    payment = paid_reward(open_code, stripe_fake)

    with pytest.raises(payments.PaymentError):
        payments.payment_mark_paid(payment=payment, reason="  ")
    payments.payment_mark_paid(payment=payment, reason="paid by Swish at the counter")
    payouts.payouts_run()

    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert stripe_fake.transfers() == []


# --- a webhook and a lost answer at the same time -------------------------------------
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_lost_answer_never_overwrites_a_payout_a_webhook_has_paid(open_code, stripe_fake):
    paid_reward(open_code, stripe_fake)
    stripe_fake.delay_next(TRANSFERS, seconds=3)  # Stripe makes it; the answer comes too late
    run = threading.Thread(target=payouts.payouts_run)
    run.start()
    deadline = time.monotonic() + 5
    while not stripe_fake.transfers() and time.monotonic() < deadline:
        time.sleep(0.05)
    (transfer,) = stripe_fake.transfers()
    payload, signature = stripe_fake.signed_event("transfer.created", transfer)
    webhook = Client().post(
        "/webhooks/stripe/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )
    run.join(timeout=10)

    assert webhook.status_code == 200
    payout = Payout.objects.get()
    assert payout.status == Payout.Status.PAID
    assert payout.stripe_transfer_id == transfer["id"]
    assert payout.attempts_made.get().outcome == PayoutAttempt.Outcome.UNKNOWN
    assert Payment.objects.get().status == Payment.Status.PAID
    assert django_settings.PAYOUT_MAX_ATTEMPTS > 1
