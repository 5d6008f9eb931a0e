"""In Debian's chromium: the person paged opens the link from the SMS and acknowledges."""

import shutil
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import sync_playwright

from core.outbox import messages_deliver_due
from support import services
from support.models import Escalation
from tests.support.on_call_helpers import ack_path

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def page(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(locale="sv-SE", viewport={"width": 390, "height": 800})
        yield context.new_page()
        browser.close()


def test_the_person_paged_acknowledges_from_their_phone(
    team, sms_fake, slack_fake, live_server, page, settings
):
    settings.PUBLIC_BASE_URL = live_server.url
    ticket = services.ticket_create(title="Payments failing everywhere", priority="P0")
    messages_deliver_due(now=timezone.now())
    link = live_server.url + ack_path(sms_fake.sent()[0]["message"])

    page.goto(link)
    assert page.locator("h1").inner_text() == "Kvittera larmet?"
    assert ticket.reference in page.inner_text("main")
    page.click("text=In English")
    assert page.locator("h1").inner_text() == "Acknowledge this page?"
    page.click("button:has-text('Acknowledge')")
    page.wait_for_selector("h1:has-text('Acknowledged')")
    assert "nobody else will be paged" in page.inner_text("main")
    assert urlsplit(page.url).path.startswith("/ack/")

    escalation = Escalation.objects.get(ticket=ticket)
    assert escalation.status == Escalation.Status.ACKNOWLEDGED
    page.goto(link)
    assert page.locator("h1").inner_text() in (
        "Länken har redan använts",
        "This link has already been used",
    )
    assert page.locator("button").count() == 0
