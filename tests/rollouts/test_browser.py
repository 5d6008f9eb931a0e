"""The rollouts panel as a Pilot manager sees it, in Debian's chromium (Playwright)."""

import pytest

from core import flags, roles
from pilots.models import Feedback, Tag
from rollouts import services
from rollouts.models import Flag, Rollout
from tests.browsers import kept_screenshot, logged_in
from tests.conftest import SPECIFIC_COMMENT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_manager_reads_the_panel_and_rolls_everything_back(
    screen, live_server, staff_member, make_business
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
    page = screen(size={"width": 1400, "height": 1000})
    logged_in(page, live_server, manager)

    page.goto(f"{live_server.url}/admin/rollouts/flag/")
    kept_screenshot(page, "rollouts-panel", full_page=True)

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
    kept_screenshot(page, "rollouts-rolled-back", full_page=True)
    assert Flag.objects.get(name="quality_rubric_v2").state == Flag.State.OFF
    assert Rollout.objects.get().status == Rollout.Status.ROLLED_BACK


def test_customer_with_sms_links_off_is_asked_for_an_e_mail_address(page, live_server, open_code):
    services.flag_change(
        flag=Flag.objects.get(name="sms_reward_links"), state=Flag.State.OFF, reason="SMS costs"
    )
    flags.rules_invalidate()

    page.goto(f"{live_server.url}/q/{open_code.token}/?lang=en")
    assert page.get_by_label("E-mail address").is_visible()
    assert "mobile number" not in page.locator("form").inner_text()
    page.locator('label[for="id_rating_4"]').click()
    page.get_by_label("Tell us more").fill(SPECIFIC_COMMENT)
    page.get_by_label("E-mail address").fill("070-123 45 67")
    page.get_by_label("You may contact me about my reward.").check()
    page.get_by_role("button", name="Send").click()

    assert page.get_by_text("Rewards are sent by e-mail here").is_visible()
    kept_screenshot(page, "form-sms-off", full_page=True)
    page.get_by_label("E-mail address").fill("anna@example.se")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url("**/thanks/**")
    assert Feedback.objects.get().contact_email == "anna@example.se"
