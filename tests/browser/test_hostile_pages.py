"""In Debian's chromium: what a person sees of the sign-in protection and the public guards.

A Pilot manager in production signs in, is sent to set up a second factor,
adds it with a code from the key the page shows, keeps the backup codes and
reaches the admin; the staff link's honeypot stays invisible while a real
report goes through; the 404 page's language switch, resolved by the
browser itself, stays on this site for every address that tried to leave it.
"""

from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from core import roles
from support.models import Ticket
from support.services import staff_link_issue

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "correct horse battery staple 42"


def test_pilot_manager_sets_up_a_second_factor_and_reaches_the_admin(
    page, live_server, settings, django_user_model
):
    settings.SECOND_FACTOR_REQUIRED = True
    manager = django_user_model.objects.create_user(
        username="maria", password=PASSWORD, is_staff=True
    )
    manager.groups.add(Group.objects.get(name=roles.PILOT_MANAGERS))

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "maria")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/second-factor/")

    key = page.locator("code").inner_text()
    device = TOTPDevice.objects.get(user=manager, confirmed=False)
    assert len(key) >= 32
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    page.fill("#id_code", code)
    page.click("input[type=submit]")
    codes = page.locator("pre").inner_text().split()
    page.click("text=On to the back office")

    assert len(codes) == 10
    assert page.url == f"{live_server.url}/admin/"
    assert page.locator("#site-name").inner_text() == "Pilot Ops"


def test_staff_link_honeypot_is_invisible_and_a_report_goes_through(page, live_server, business):
    link = staff_link_issue(business=business)

    page.goto(f"{live_server.url}/staff/{link.token}/?lang=en")
    trap = page.locator("input[name=website]").bounding_box()
    page.check("input[value=qr_code]", force=True)
    page.fill("textarea[name=description]", "Table 4 code does not scan")
    page.click("button[type=submit]")

    assert trap["x"] + trap["width"] <= 0  # drawn off-screen: people never see it
    assert page.locator("text=Reported as").is_visible()
    assert Ticket.objects.get().description == "Table 4 code does not scan"


@pytest.mark.parametrize(
    "address", ["/%5Cevil.example/login", "/%2F%2Fevil.example/login", "/%09/evil.example/x"]
)
def test_language_switch_on_the_404_page_stays_on_this_site(page, live_server, address):
    page.goto(live_server.url + address)
    switch = page.locator("nav.switch a")
    resolved = switch.evaluate("link => link.href")

    assert urlsplit(resolved).netloc == urlsplit(live_server.url).netloc
    switch.click()
    assert urlsplit(page.url).netloc == urlsplit(live_server.url).netloc
