"""Payments found the way an agent is asked: by the customer's contact, the café, the feedback."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pilots.models import Feedback, Payment
from tests.conftest import good_feedback_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def payments(open_code):
    karin = good_feedback_submit(
        open_code, client_hash="a" * 64, contact_email="karin.larsson@example.se", consent=True
    )
    kalle = good_feedback_submit(
        open_code, client_hash="b" * 64, contact_phone="+46701234567", consent=True
    )
    return karin.payment, kalle.payment


def listed(client, term: str) -> set[int]:
    response = client.get("/admin/pilots/payment/", {"q": term})
    assert response.status_code == 200
    return {payment.pk for payment in response.context["cl"].result_list}


@pytest.mark.parametrize("who", ["agent_client", "manager_client", "viewer_client"])
def test_a_typed_email_finds_that_customers_payments_only(request, who, payments):
    client = request.getfixturevalue(who)
    karin, _kalle = payments

    assert listed(client, " Karin.Larsson@Example.se ") == {karin.pk}
    assert listed(client, "karin.larsson@example.s") == set()  # whole addresses only
    assert listed(client, "larsson") == set()  # never a part of a contact


def test_a_typed_mobile_number_in_any_form_finds_the_recipient(agent_client, payments):
    _karin, kalle = payments

    for typed in ("070-123 45 67", "+46701234567", "0046701234567"):
        assert listed(agent_client, typed) == {kalle.pk}
    assert listed(agent_client, "070-123 45 68") == set()


def test_payments_found_by_business_and_by_feedback(agent_client, payments):
    karin, kalle = payments

    assert listed(agent_client, "Aurora") == {karin.pk, kalle.pk}
    assert listed(agent_client, "Café Nowhere") == set()
    assert listed(agent_client, str(kalle.feedback_id)) >= {kalle.pk}


def test_the_feedback_page_links_its_payment(agent_client, payments):
    karin, _ = payments

    page = agent_client.get(f"/admin/pilots/feedback/{karin.feedback_id}/change/").content.decode()

    assert f"/admin/pilots/payment/{karin.pk}/change/" in page


def test_payment_page_shows_the_feedback_time_in_local_time(agent_client, payments):
    karin, _ = payments
    summer = datetime(2026, 7, 1, 10, 30, tzinfo=ZoneInfo("UTC"))  # 12:30 in Stockholm
    Feedback.objects.filter(pk=karin.feedback_id).update(submitted_at=summer)

    page = agent_client.get(f"/admin/pilots/payment/{karin.pk}/change/").content.decode()

    assert "(2026-07-01 12:30)" in page
    assert Payment.objects.count() == 2


@pytest.mark.parametrize(
    "term", ["a@b", "@", "x" * 300 + "@example.se", "+46 70 123 45 67 89 01 23 45"]
)
def test_odd_search_terms_find_nothing(agent_client, payments, term):
    response = agent_client.get("/admin/pilots/payment/", {"q": term})

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 0


def test_a_number_in_another_scripts_digits_is_the_same_contact_and_nul_never_fails(
    agent_client, payments
):
    _karin, kalle = payments

    assert listed(agent_client, "٠٧٠١٢٣٤٥٦٧") == {kalle.pk}  # 0701234567 in Arabic-Indic digits
    assert agent_client.get("/admin/pilots/payment/", {"q": "a\x00@b"}).status_code < 500
