"""The rollouts panel as a Pilot manager sees it, in Debian's chromium (Playwright)."""

import os
import shutil

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from core import flags, roles
from pilots.models import Feedback, Tag
from rollouts import services
from rollouts.models import Flag, Rollout
from tests.conftest import SPECIFIC_COMMENT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = django_settings.VAR_DIR / "screenshots"


@pytest.fixture
def browser_page():
    # Playwright's sync API runs its own event loop; the ORM calls of the test are still sync.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        yield context
        context.close()
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def logged_in(context, live_server, user) -> None:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    context.add_cookies(
        [{"name": "sessionid", "value": session.session_key, "url": live_server.url}]
    )


def test_manager_reads_the_panel_and_rolls_everything_back(
    browser_page, live_server, staff_member, make_business
):
    manager = staff_member(roles.PILOT_MANAGERS)
    beta = Tag.objects.create(name="beta")
    for n in range(12):
        make_business(f"Beta café {n}").tags.add(beta)
    make_business("Café Aurora")
    flag = services.flag_change(
        flag=Flag.objects.get(name="quality_rubric_v2"), tags=[beta], reason="the beta cafés"
    )
    services.rollout_start(
        flag=flag,
        stages=[{"percentage": 50, "soak_minutes": 60}, {"percentage": 100, "soak_minutes": 60}],
    )
    logged_in(browser_page, live_server, manager)
    page = browser_page.new_page()

    page.goto(f"{live_server.url}/admin/rollouts/flag/")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "rollouts-panel.png"), full_page=True)

    panel = page.locator("#flag-panel")
    assert panel.is_visible()
    row = panel.locator("tr", has_text="quality_rubric_v2").first
    assert "Canary 50 %" in row.inner_text()
    assert "stage 1 of 2 (50 %)" in row.inner_text()
    assert "/ 12" in row.locator('td[title="beta"]').inner_text()
    assert "Error rate" in row.inner_text()
    assert page.locator("#flag-changes").inner_text().count("Rollout started") == 1

    page.get_by_role("link", name="Roll everything back").click()
    page.get_by_label("Reason").fill("complaints from the beta cafés")
    page.get_by_role("button", name="Roll back").click()

    assert page.locator(".messagelist li", has_text="Rolled back: quality_rubric_v2").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "rollouts-rolled-back.png"), full_page=True)
    assert Flag.objects.get(name="quality_rubric_v2").state == Flag.State.OFF
    assert Rollout.objects.get().status == Rollout.Status.ROLLED_BACK


def test_customer_with_sms_links_off_is_asked_for_an_e_mail_address(
    browser_page, live_server, open_code
):
    services.flag_change(
        flag=Flag.objects.get(name="sms_reward_links"), state=Flag.State.OFF, reason="SMS costs"
    )
    flags.rules_invalidate()
    page = browser_page.new_page()

    page.goto(f"{live_server.url}/q/{open_code.token}/?lang=en")
    assert page.get_by_label("E-mail address").is_visible()
    assert "mobile number" not in page.locator("form").inner_text()
    page.locator('label[for="id_rating_4"]').click()
    page.get_by_label("Tell us more").fill(SPECIFIC_COMMENT)
    page.get_by_label("E-mail address").fill("070-123 45 67")
    page.get_by_label("You may contact me about my reward.").check()
    page.get_by_role("button", name="Send").click()

    assert page.get_by_text("Rewards are sent by e-mail here").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "form-sms-off.png"), full_page=True)
    page.get_by_label("E-mail address").fill("anna@example.se")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url("**/thanks/**")
    assert Feedback.objects.get().contact_email == "anna@example.se"
