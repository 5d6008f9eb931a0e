"""The back office speaks each staff member's chosen language; public pages keep their own."""

import pytest

from core import roles
from core.models import StaffProfile
from core.services import staff_language_set
from tests.conftest import Client, _logged_in_client

pytestmark = pytest.mark.django_db


def test_staff_language_swedish_for_whoever_chose_it(staff_member):
    swedish = staff_member(roles.PILOT_MANAGERS, username="maria")
    english = staff_member(roles.PILOT_MANAGERS, username="anna")
    staff_language_set(user=swedish, language="sv")

    in_swedish = _logged_in_client(swedish).get("/admin/")
    in_english = _logged_in_client(english).get("/admin/")

    assert in_swedish["Content-Language"] == "sv"
    assert "Logga ut" in in_swedish.content.decode()
    assert "Språk" in in_swedish.content.decode()
    assert in_english["Content-Language"] == "en"
    assert "Log out" in in_english.content.decode()


def test_staff_language_chosen_on_its_page(staff_member):
    user = staff_member(roles.SUPPORT_AGENTS)
    client = _logged_in_client(user)

    page = client.get("/admin/language/")
    saved = client.post("/admin/language/", {"language": "sv"})
    refused = client.post("/admin/language/", {"language": "de"})

    assert page.status_code == 200
    assert saved.status_code == 302
    assert StaffProfile.objects.get(user=user).language == "sv"
    assert refused.status_code == 400
    assert "Välj ett giltigt alternativ" in refused.content.decode()
    assert Client().get("/admin/language/").status_code == 302  # sign in first


def test_staff_language_stays_in_the_back_office(staff_member, open_code):
    user = staff_member(roles.PILOT_MANAGERS)
    staff_language_set(user=user, language="sv")
    client = _logged_in_client(user)

    client.get("/admin/")
    public = client.get(f"/q/{open_code.token}/?lang=en")
    health = client.get("/health/")
    anonymous_login = Client().get("/admin/login/")

    assert public["Content-Language"] == "en"
    assert "How we handle your data" in public.content.decode()
    assert health.status_code == 200
    assert anonymous_login["Content-Language"] == "en"
    assert "Log in" in anonymous_login.content.decode()
