"""In Debian's chromium: the person paged opens the link from the SMS and acknowledges."""

from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from core.outbox import messages_deliver_due
from support import services
from support.models import Escalation
from tests.support.on_call_helpers import ack_path

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_person_paged_acknowledges_from_their_phone(
    team, sms_fake, slack_fake, live_server, screen, settings
):
    settings.PUBLIC_BASE_URL = live_server.url
    ticket = services.ticket_create(title="Payments failing everywhere", priority="P0")
    messages_deliver_due(now=timezone.now())
    link = live_server.url + ack_path(sms_fake.sent()[0]["message"])

    page = screen("sv", {"width": 390, "height": 800})
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
