"""/webhooks/stripe/: signed, stored once, applied once, in any order."""

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pilots import payments, payouts, stripe_events
from pilots.models import Payment, Payout, RewardRecipient, StripeEvent
from support.models import Ticket
from tests.conftest import good_feedback_submit, recipient_verified

pytestmark = pytest.mark.django_db

URL = "/webhooks/stripe/"


def deliver(client, fake, event_type, obj, **options):
    payload, signature = fake.signed_event(event_type, obj, **options)
    return client.post(
        URL, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )


@pytest.fixture
def onboarding_recipient(client, open_code, stripe_fake):
    good_feedback_submit(
        open_code, client_hash="a" * 64, contact_email="eva@example.se", consent=True
    )
    recipient = recipient_verified(client, RewardRecipient.objects.get())
    payments.recipient_claim_start(
        recipient=recipient, refresh_url="http://x/refresh", return_url="http://x/return"
    )
    recipient.refresh_from_db()
    return recipient


def payable_now(recipient, fake) -> None:
    """Stripe finished the recipient's onboarding: transfers can reach the account."""
    fake.enable_payouts(recipient.stripe_account_id)
    RewardRecipient.objects.filter(pk=recipient.pk).update(onboarding="payable")


def account(recipient, **fields):
    return {"id": recipient.stripe_account_id, "object": "account", **fields}


def test_webhook_account_updated_three_times_has_one_effect(
    client, stripe_fake, onboarding_recipient
):
    payload, signature = stripe_fake.signed_event(
        "account.updated",
        account(onboarding_recipient, payouts_enabled=True),
        event_id="evt_same",
    )

    statuses = [
        client.post(
            URL, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        ).status_code
        for _ in range(3)
    ]

    assert statuses == [200, 200, 200]
    event = StripeEvent.objects.get()
    assert event.deliveries == 3
    assert event.processed_at is not None
    onboarding_recipient.refresh_from_db()
    assert onboarding_recipient.onboarding == RewardRecipient.Onboarding.PAYABLE


def test_webhook_older_account_state_arriving_late_is_ignored(
    client, stripe_fake, onboarding_recipient
):
    now = int(time.time())
    deliver(
        client,
        stripe_fake,
        "account.updated",
        account(onboarding_recipient, payouts_enabled=True),
        created=now,
    )
    deliver(
        client,
        stripe_fake,
        "account.updated",
        account(onboarding_recipient, payouts_enabled=False, details_submitted=False),
        created=now - 60,
    )

    onboarding_recipient.refresh_from_db()
    assert onboarding_recipient.onboarding == RewardRecipient.Onboarding.PAYABLE
    assert StripeEvent.objects.filter(processed_at__isnull=False).count() == 2


def test_webhook_transfer_reversed_before_created_ends_reversed(
    client, stripe_fake, onboarding_recipient
):
    payable_now(onboarding_recipient, stripe_fake)
    payouts.payouts_run()
    payout = Payout.objects.get()
    transfer = {
        "id": payout.stripe_transfer_id,
        "object": "transfer",
        "transfer_group": payout.transfer_group,
    }

    deliver(client, stripe_fake, "transfer.reversed", {**transfer, "reversed": True})
    deliver(client, stripe_fake, "transfer.created", transfer)
    deliver(client, stripe_fake, "transfer.reversed", {**transfer, "reversed": True})

    payout.refresh_from_db()
    assert payout.status == Payout.Status.REVERSED
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.FAILED
    assert "reversed" in payment.last_error


def test_webhook_transfer_created_settles_a_payout_whose_answer_was_lost(
    client, stripe_fake, onboarding_recipient
):
    payable_now(onboarding_recipient, stripe_fake)
    stripe_fake.delay_next("/v1/transfers", seconds=3)
    payouts.payouts_run()
    payout = Payout.objects.get()
    assert payout.status == Payout.Status.UNKNOWN
    (made,) = stripe_fake.transfers()

    deliver(client, stripe_fake, "transfer.created", made)

    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert payout.stripe_transfer_id == made["id"]
    assert Payment.objects.get().status == Payment.Status.PAID


@pytest.mark.parametrize(
    "tamper",
    [
        {"secret": "whsec_someone_else"},
        {"signed_at": int(time.time()) - 3600},  # replayed an hour later
    ],
)
def test_webhook_forged_or_stale_signature_is_400_and_nothing_is_stored(
    client, stripe_fake, onboarding_recipient, tamper
):
    response = deliver(
        client,
        stripe_fake,
        "account.updated",
        account(onboarding_recipient, payouts_enabled=True),
        **tamper,
    )

    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0
    onboarding_recipient.refresh_from_db()
    assert onboarding_recipient.onboarding != RewardRecipient.Onboarding.PAYABLE


def test_webhook_without_signature_or_with_garbage_is_400(client, stripe_fake):
    assert client.post(URL, b"{}", content_type="application/json").status_code == 400
    assert (
        client.post(
            URL, b"not json", content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=abc"
        ).status_code
        == 400
    )


def test_webhook_unknown_event_type_is_acknowledged(client, stripe_fake):
    response = deliver(client, stripe_fake, "customer.created", {"id": "cus_1"})

    assert response.status_code == 200
    assert StripeEvent.objects.get().processed_at is not None


def test_webhook_processing_failure_is_500_and_can_be_reprocessed_from_the_admin(
    client, manager_client, stripe_fake, onboarding_recipient, monkeypatch
):
    def broken(obj, at):
        raise RuntimeError("database hiccup")

    monkeypatch.setitem(stripe_events.EVENT_HANDLERS, "account.updated", broken)
    response = deliver(
        client, stripe_fake, "account.updated", account(onboarding_recipient, payouts_enabled=True)
    )
    event = StripeEvent.objects.get()
    assert response.status_code == 500
    assert "database hiccup" in event.error
    assert event.processed_at is None

    monkeypatch.undo()
    manager_client.post(
        "/admin/pilots/stripeevent/", {"action": "reprocess", "_selected_action": [event.pk]}
    )

    event.refresh_from_db()
    onboarding_recipient.refresh_from_db()
    assert event.processed_at is not None
    assert onboarding_recipient.onboarding == RewardRecipient.Onboarding.PAYABLE


def test_webhook_payload_is_kept_for_the_admin(client, stripe_fake, onboarding_recipient):
    deliver(
        client,
        stripe_fake,
        "account.updated",
        account(onboarding_recipient, payouts_enabled=True),
        event_id="evt_kept",
    )

    stored = StripeEvent.objects.get(stripe_id="evt_kept")
    assert stored.type == "account.updated"
    assert json.dumps(stored.payload).count(onboarding_recipient.stripe_account_id) == 1


def _signed_raw(client, fake, body: bytes):
    return client.post(
        URL, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=fake.signature(body)
    )


GOOD_ENVELOPE = {
    "id": "evt_1",
    "object": "event",
    "type": "transfer.created",
    "created": 1_760_000_000,
    "data": {"object": {"id": "tr_1", "object": "transfer"}},
}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"[1, 2, 3]", "not a JSON object"),
        (b'"evt_1"', "not a JSON object"),
        (b"null", "not a JSON object"),
        (json.dumps({**GOOD_ENVELOPE, "id": None}).encode(), "id must be"),
        (json.dumps({k: v for k, v in GOOD_ENVELOPE.items() if k != "id"}).encode(), "id must"),
        (json.dumps({**GOOD_ENVELOPE, "id": "evt_" + "x" * 300}).encode(), "id must be"),
        (json.dumps({**GOOD_ENVELOPE, "type": ""}).encode(), "type must be"),
        (json.dumps({**GOOD_ENVELOPE, "type": 7}).encode(), "type must be"),
        (json.dumps({**GOOD_ENVELOPE, "created": "1760000000"}).encode(), "created must be"),
        (json.dumps({**GOOD_ENVELOPE, "created": True}).encode(), "created must be"),
        (json.dumps({**GOOD_ENVELOPE, "created": 10**15}).encode(), "created must be"),
        (json.dumps({**GOOD_ENVELOPE, "created": -1}).encode(), "created must be"),
        (json.dumps({k: v for k, v in GOOD_ENVELOPE.items() if k != "data"}).encode(), "data"),
        (json.dumps({**GOOD_ENVELOPE, "data": {"object": []}}).encode(), "data.object"),
        (json.dumps({**GOOD_ENVELOPE, "data": {"object": {"id": 5}}}).encode(), "data.object.id"),
        (json.dumps({**GOOD_ENVELOPE, "type": "a\u0000b"}).encode(), "NUL"),
        (json.dumps({**GOOD_ENVELOPE, "data": {"object": {"x": "\u0000"}}}).encode(), "NUL"),
        (b'{"id": "evt_1", "created": NaN}', "not a JSON number"),
        (b"[" * 5000 + b"]" * 5000, "nested deeper"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"{not json", "not JSON"),
    ],
)
def test_webhook_signed_but_malformed_envelope_is_400_and_stores_nothing(
    client, stripe_fake, body, problem
):
    response = _signed_raw(client, stripe_fake, body)

    assert response.status_code == 400, response.content
    assert problem in response.json()["error"]
    assert not StripeEvent.objects.exists()


def test_webhook_over_long_event_id_is_400_not_a_database_error(client, stripe_fake):
    payload, signature = stripe_fake.signed_event(
        "account.updated", {"id": "acct_1"}, event_id="evt_" + "9" * 260
    )

    response = client.post(
        URL, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )

    assert response.status_code == 400
    assert "id must be" in response.json()["error"]
    assert not StripeEvent.objects.exists()


def test_webhook_event_without_object_id_changes_no_row_with_an_empty_id(
    client, stripe_fake, onboarding_recipient
):
    """An object with no id must not match every row whose Stripe id is still empty."""
    before = RewardRecipient.objects.values_list("pk", "onboarding")
    RewardRecipient.objects.create(contact_hash="b" * 64)  # no Stripe account yet

    response = deliver(client, stripe_fake, "account.updated", {"payouts_enabled": True})

    assert response.status_code == 200
    assert set(
        RewardRecipient.objects.filter(pk__in=[p for p, _ in before]).values_list(
            "pk", "onboarding"
        )
    ) == set(before)
    assert not RewardRecipient.objects.filter(onboarding=RewardRecipient.Onboarding.PAYABLE)


def test_webhook_body_over_a_megabyte_is_refused_before_parsing(client, stripe_fake):
    body = json.dumps({**GOOD_ENVELOPE, "padding": "x" * (1024 * 1024)}).encode()

    response = _signed_raw(client, stripe_fake, body)

    assert response.status_code == 413  # from the Content-Length, before a byte is read
    assert "larger than" in response.json()["error"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=300), json_values),
        "type": st.one_of(st.sampled_from(["transfer.created", "account.updated"]), json_values),
        "created": st.one_of(st.integers(), json_values),
        "data": st.one_of(st.fixed_dictionaries({"object": json_values}), json_values),
    },
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(body=st.one_of(envelopes, json_values))
def test_webhook_any_signed_json_answers_200_or_400_never_500(client, stripe_fake, body):
    response = _signed_raw(client, stripe_fake, json.dumps(body).encode())

    assert response.status_code in (200, 400), response.content


def test_webhook_late_transfer_for_a_failed_payout_settles_it_paid_and_tells_people(
    client, stripe_fake, onboarding_recipient, settings
):
    """Stripe's word wins, even after Pilot Ops had concluded that no transfer was made."""
    settings.PAYOUT_MAX_ATTEMPTS = 1
    payable_now(onboarding_recipient, stripe_fake)
    stripe_fake.fail_next("/v1/transfers", status=500, method="POST")
    payouts.payouts_run()  # the answer is lost: needs attention
    payouts.payouts_run()  # Stripe has no transfer: failed
    payout = Payout.objects.get()
    assert payout.status == Payout.Status.FAILED
    late = stripe_fake.transfer_add(
        amount=payout.amount,
        destination=onboarding_recipient.stripe_account_id,
        transfer_group=payout.transfer_group,
    )

    deliver(client, stripe_fake, "transfer.created", late)
    deliver(client, stripe_fake, "transfer.created", late, event_id="evt_again")

    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID
    assert payout.stripe_transfer_id == late["id"]
    assert Payment.objects.get().status == Payment.Status.PAID
    ticket = Ticket.objects.get(dedupe_key=f"payout-late-transfer:{payout.pk}")
    assert "was paid after it had failed" in ticket.title


def test_webhook_paid_payout_never_goes_back_and_a_second_transfer_is_reported(
    client, stripe_fake, onboarding_recipient
):
    payable_now(onboarding_recipient, stripe_fake)
    payouts.payouts_run()
    payout = Payout.objects.get()
    stray = stripe_fake.transfer_add(
        amount=payout.amount,
        destination=onboarding_recipient.stripe_account_id,
        transfer_group=payout.transfer_group,
    )

    deliver(client, stripe_fake, "transfer.created", stray)

    paid_with = payout.stripe_transfer_id
    payout.refresh_from_db()
    assert (payout.status, payout.stripe_transfer_id) == (Payout.Status.PAID, paid_with)
    assert Ticket.objects.filter(dedupe_key=f"payout-second-transfer:{payout.pk}").exists()
