"""The payments admin: every state explainable, changes by managers only, no secrets shown."""

import pytest

from core.models import MaintenanceRun
from core.tasks import maintenance_queued
from pilots import payouts
from pilots.models import Payment, RewardRecipient
from tests.conftest import STRIPE_TEST_KEY, good_feedback_submit

pytestmark = pytest.mark.django_db

PAGES = [
    "/admin/pilots/payment/",
    "/admin/pilots/rewardrecipient/",
    "/admin/pilots/payout/",
    "/admin/pilots/stripeevent/",
]


@pytest.fixture
def payment(open_code):
    feedback = good_feedback_submit(
        open_code, client_hash="a" * 64, contact_email="karin.larsson@example.se", consent=True
    )
    return feedback.payment


def test_payments_admin_masks_contacts_and_never_shows_the_stripe_key(
    manager_client, payment, stripe_fake
):
    payouts.payouts_run()
    pages = [manager_client.get(page).content.decode() for page in PAGES]
    pages.append(manager_client.get(f"/admin/pilots/payment/{payment.pk}/change/").content.decode())
    pages.append(
        manager_client.get(
            f"/admin/pilots/rewardrecipient/{payment.recipient_id}/change/"
        ).content.decode()
    )

    text = "\n".join(pages)
    assert "karin.larsson@example.se" not in text
    assert "k***@example.se" in text
    assert STRIPE_TEST_KEY not in text
    assert stripe_fake.webhook_secret not in text


@pytest.mark.parametrize("staff_client", ["agent_client", "viewer_client"])
def test_payments_agents_and_viewers_see_but_cannot_change(request, staff_client, payment):
    client = request.getfixturevalue(staff_client)

    for page in PAGES:
        assert client.get(page).status_code == 200, page
    client.post("/admin/pilots/payment/", {"action": "cancel", "_selected_action": [payment.pk]})
    assert client.post("/admin/pilots/payment/run-payouts/").status_code == 403

    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_payments_admin_actions_write_history(manager_client, payment):
    manager_client.post(
        "/admin/pilots/payment/", {"action": "hold", "_selected_action": [payment.pk]}
    )
    manager_client.post(
        "/admin/pilots/payment/", {"action": "release", "_selected_action": [payment.pk]}
    )
    page = manager_client.get(f"/admin/pilots/payment/{payment.pk}/change/").content.decode()

    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert "Held: held by a manager." in page
    assert "Released for payout." in page


def test_payments_mark_paid_by_hand_asks_for_a_reason(manager_client, payment):
    ask = manager_client.post(
        "/admin/pilots/payment/", {"action": "mark_paid", "_selected_action": [payment.pk]}
    )
    assert ask.status_code == 200
    assert "Mark payments paid by hand" in ask.content.decode()

    manager_client.post(
        "/admin/pilots/payment/",
        {"action": "mark_paid", "_selected_action": [payment.pk], "reason": "Swish, 10 kr"},
    )

    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert payment.manual_reason == "Swish, 10 kr"


def test_payments_run_now_button_shows_for_managers_queues_a_run_and_links_to_it(
    manager_client, viewer_client, payment, stripe_fake, django_capture_on_commit_callbacks
):
    RewardRecipient.objects.filter(pk=payment.recipient_id).update(
        stripe_account_id=stripe_fake.account_add(), onboarding="payable"
    )
    listing = manager_client.get("/admin/pilots/payment/").content.decode()
    assert "Run payouts now" in listing
    assert "Run payouts now" not in viewer_client.get("/admin/pilots/payment/").content.decode()

    with django_capture_on_commit_callbacks() as queued:
        response = manager_client.post("/admin/pilots/payment/run-payouts/", follow=True)

    run = MaintenanceRun.objects.get(job="payout_run")
    assert response.redirect_chain[-1][0] == f"/admin/core/maintenancerun/{run.pk}/change/"
    assert run.outcome == MaintenanceRun.Outcome.QUEUED
    assert "Payout run queued" in response.content.decode()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING, "the request did not pay anything itself"
    assert len(queued) == 1

    maintenance_queued(run.pk)  # what the worker does with the queued task

    run.refresh_from_db()
    payment.refresh_from_db()
    assert run.outcome == MaintenanceRun.Outcome.OK
    assert "1 paid" in run.summary
    assert payment.status == Payment.Status.PAID
    page = manager_client.get(f"/admin/core/maintenancerun/{run.pk}/change/").content.decode()
    assert "1 paid" in page


def test_payout_switch_in_the_admin(manager_client, payment, stripe_fake):
    from tests.admin_forms import change_form_data

    page = manager_client.get("/admin/pilots/payoutswitch/", follow=True)
    data = change_form_data(page, note="Stripe incident")
    del data["payouts_enabled"]
    manager_client.post("/admin/pilots/payoutswitch/1/change/", data)

    assert payouts.payouts_run().skipped == "payouts are switched off"
