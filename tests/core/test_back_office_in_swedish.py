"""A staff member who chose Swedish reads the rollouts, billing and data request admins in
Swedish; one who kept English reads them in English."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Plan, Subscription
from core.models import SecurityEvent
from core.services import staff_language_set
from privacy.services import data_request_open
from rollouts import services as rollouts
from tests.conftest import _logged_in_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def readers(django_user_model):
    swedish = django_user_model.objects.create_superuser("maria", "maria@example.se", "x")
    staff_language_set(user=swedish, language="sv")
    english = django_user_model.objects.create_superuser("anna", "anna@example.se", "x")
    return _logged_in_client(swedish), _logged_in_client(english)


def test_back_office_flag_panel_in_the_readers_language(readers):
    # Given a flag being rolled out
    flag = rollouts.flag_create(name="table_service")
    rollouts.rollout_start(flag=flag, stages=[{"percentage": 10, "soak_minutes": 60}])
    swedish, english = readers

    # When each reads the flag panel
    in_swedish = swedish.get("/admin/rollouts/flag/").content.decode()
    in_english = english.get("/admin/rollouts/flag/").content.decode()

    # Then each reads it in their language
    assert "Flaggor × taggar: verksamheter som varje flagga är på för, per tagg" in in_swedish
    assert "Återställ allt" in in_swedish
    assert "steg 1 av 1 (10 %)" in in_swedish
    assert "Testgrupp" in in_swedish
    assert "Skapad, av." in in_swedish  # its history, put in words when read
    assert "av → testgrupp 10 % av alla verksamheter:" in in_swedish
    assert "Flags × tags: businesses each flag is on for, per tag" in in_english
    assert "Roll everything back" in in_english
    assert "stage 1 of 1 (10 %)" in in_english
    assert "Created, off." in in_english


def test_back_office_subscription_page_in_the_readers_language(readers, business):
    # Given a café's active subscription
    plan, _ = Plan.objects.get_or_create(name="Pro", defaults={"monthly_price": 49900})
    subscription = Subscription.objects.create(
        business=business,
        plan=plan,
        stripe_subscription_id="sub_1",
        status=Subscription.Status.ACTIVE,
        current_period_end=timezone.now() + timedelta(days=12),
    )
    swedish, english = readers
    page = f"/admin/billing/subscription/{subscription.pk}/change/"

    # When each opens it
    in_swedish = swedish.get(page).content.decode()
    in_english = english.get(page).content.decode()

    # Then the labels, the status and the tools are in their language
    assert "Byt plan" in in_swedish
    assert "Nuvarande period slutar" in in_swedish
    assert f"Pro för {business.name} (aktiv)" in in_swedish
    assert "Fakturor" in in_swedish
    assert "Change plan" in in_english
    assert "Current period end" in in_english
    assert f"Pro for {business.name} (active)" in in_english


def test_back_office_data_request_admin_in_the_readers_language(readers):
    # Given an open data subject request
    data_request = data_request_open(contact="anna@example.se", identity_check="Replied.")
    swedish, english = readers
    page = f"/admin/privacy/datarequest/{data_request.pk}/change/"

    # When each reads the list and the request
    list_in_swedish = swedish.get("/admin/privacy/datarequest/").content.decode()
    in_swedish = swedish.get(page).content.decode()
    in_english = english.get(page).content.decode()

    # Then both are in their language
    assert "Begäranden från registrerade" in list_in_swedish
    assert "Dataskydd" in list_in_swedish
    assert "Radera" in in_swedish and "Stäng begäran" in in_swedish
    assert "Identitetskontroll" in in_swedish
    assert f"Begäran {data_request.pk}" in in_swedish
    assert "Close the request" in in_english and "Identity check" in in_english
    assert "Stäng begäran" not in in_english


def test_back_office_security_event_details_in_the_readers_language(readers):
    # Given security events whose details the security code wrote
    SecurityEvent.objects.create(
        kind=SecurityEvent.Kind.UNLOCKED, username="erik", detail="after 3 failure(s)"
    )
    SecurityEvent.objects.create(
        kind=SecurityEvent.Kind.GROUPS_CHANGED, username="erik", detail="added: Support agents"
    )
    swedish, english = readers

    # When each reads the security page
    in_swedish = swedish.get("/admin/core/securityevent/").content.decode()
    in_english = english.get("/admin/core/securityevent/").content.decode()

    # Then the details are in their language, the group's name as it is held
    assert "efter 3 misslyckanden" in in_swedish
    assert "tillagda: Support agents" in in_swedish
    assert "Upplåst" in in_swedish
    assert "after 3 failures" in in_english
    assert "added: Support agents" in in_english
