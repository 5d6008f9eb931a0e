"""In Debian's chromium: a support agent switches the back office to Swedish and back."""

import pytest
from django.contrib.auth.models import Group

from core import roles

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "correct horse battery staple 42"


def test_agent_switches_the_back_office_to_swedish(page, live_server, django_user_model):
    agent = django_user_model.objects.create_user("sara", password=PASSWORD, is_staff=True)
    agent.groups.add(Group.objects.get(name=roles.SUPPORT_AGENTS))

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "sara")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.click("#user-tools >> text=Language")
    page.select_option("select[name=language]", "sv")
    page.click("input[type=submit]")

    assert page.url.endswith("/admin/")
    assert page.locator("html").get_attribute("lang") == "sv"
    assert "LOGGA UT" in page.locator("#user-tools").inner_text().upper()

    page.click("#user-tools >> text=Språk")
    page.select_option("select[name=language]", "en")
    page.click("input[type=submit]")
    assert "LOG OUT" in page.locator("#user-tools").inner_text().upper()
