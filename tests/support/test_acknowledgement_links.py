"""Acknowledgement links: signed, expiring, one-time; refused with a clear page otherwise."""

import pytest
from django.test import Client

from core.logging import redact_contact_data
from support import services
from support.ack_links import ack_token
from support.models import Escalation, Incident, Page
from tests.support.on_call_helpers import ack_path, at, beat, slack_mentions
from tests.support.test_alertmanager_paging import alert_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def paged(team, clock, sms_fake, slack_fake):
    """A P0 ticket at 03:00 on a Sunday: Anna's SMS carries the link."""
    clock("2026-11-22 03:00")
    ticket = services.ticket_create(title="Payments failing", priority="P0")
    beat(clock, "2026-11-22 03:00")
    return ticket, ack_path(sms_fake.sent()[0]["message"])


def test_a_tampered_link_is_refused_in_english_and_swedish(paged, client):
    _, path = paged
    token = path.split("/")[2]
    forged = [
        path.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B")),
        path.replace(token, str(int(token.split(".")[0]) + 1) + "." + token.split(".")[1]),
        "/ack/not-a-token/",
    ]
    for address in forged:
        english = client.get(address, {"lang": "en"})
        swedish = client.get(address, {"lang": "sv"})
        assert english.status_code == 404 and b"This link is not valid" in english.content
        assert swedish.status_code == 404
        assert "Länken är inte giltig" in swedish.content.decode()
        assert client.post(address).status_code == 404
    assert Escalation.objects.get().status == Escalation.Status.RUNNING


def test_an_expired_link_is_refused(paged, clock, client):
    _, path = paged
    clock("2026-11-23 03:01")  # 24 hours and a minute later
    response = client.post(path + "?lang=en")
    assert response.status_code == 410 and b"This link has expired" in response.content
    assert "Länken har gått ut" in client.get(path, {"lang": "sv"}).content.decode()
    assert Escalation.objects.get().acknowledged_at is None


def test_a_used_link_is_refused_and_the_first_use_counts(paged, clock, client, team):
    ticket, path = paged
    clock("2026-11-22 03:02")
    assert client.post(path + "?lang=en").status_code == 200
    clock("2026-11-22 03:03")
    again = client.post(path + "?lang=en")
    assert again.status_code == 410 and b"already been used" in again.content
    assert "Länken har redan använts" in Client().get(path, {"lang": "sv"}).content.decode()
    escalation = Escalation.objects.get(ticket=ticket)
    assert escalation.acknowledged_at == at("2026-11-22 03:02")
    assert Page.objects.exclude(link_used_at=None).count() == 1


def test_a_second_persons_link_after_the_first_acknowledgement_says_who_took_it(
    team, clock, sms_fake, slack_fake, client
):
    clock("2026-11-22 03:00")
    services.ticket_create(title="Payments failing", priority="P0")
    for minute in range(6):
        beat(clock, f"2026-11-22 03:{minute:02d}")
    assert slack_mentions(slack_fake) == ["U0ANNA", "U0BO"]
    clock("2026-11-22 03:06")
    bo_link = ack_path(slack_fake.posted()[1]["text"])
    assert client.post(bo_link + "?lang=en").status_code == 200

    anna_link = ack_path(sms_fake.sent()[0]["message"])
    shown = client.get(anna_link, {"lang": "en"})
    assert shown.status_code == 200 and b"Already acknowledged" in shown.content
    assert b"bo acknowledged it at 2026-11-22 03:06" in shown.content
    assert b"<form" not in shown.content


def test_the_first_acknowledgement_sets_the_incidents_acknowledged_time(
    team, clock, sms_fake, slack_fake, client, settings
):
    clock("2026-11-22 03:00")
    assert alert_post(settings, client, "firing").status_code == 200
    for minute in range(7):
        beat(clock, f"2026-11-22 03:{minute:02d}")
    incident = Incident.objects.get()
    assert incident.acknowledged_at is None
    bo_link = ack_path(slack_fake.posted()[1]["text"])
    anna_link = ack_path(sms_fake.sent()[0]["message"])

    clock("2026-11-22 03:07")
    assert client.post(bo_link + "?lang=en").status_code == 200
    clock("2026-11-22 03:09")
    assert client.post(anna_link + "?lang=en").status_code == 200

    incident.refresh_from_db()
    assert incident.acknowledged_at == at("2026-11-22 03:07")
    assert incident.commander == team.bo
    for minute in range(10, 30):
        beat(clock, f"2026-11-22 03:{minute:02d}")
    assert slack_mentions(slack_fake) == ["U0ANNA", "U0BO"], "the leads were never paged"


def test_the_link_page_works_for_a_get_that_does_not_change_anything(paged, client):
    _, path = paged
    for _ in range(3):  # link previews and mail scanners fetch links
        assert client.get(path).status_code == 200
    assert Escalation.objects.get().status == Escalation.Status.RUNNING


def test_the_link_is_rate_limited_per_client(paged, settings, client):
    settings.ACK_LINK_RATE = "3/h"
    _, path = paged
    statuses = [client.get(path).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_a_token_names_one_page_and_nothing_else(paged):
    page = Page.objects.first()
    assert ack_token(page).startswith(f"{page.pk}.")


def test_the_link_never_reaches_a_log_line(paged):
    _, path = paged
    assert redact_contact_data(f'"POST {path}?lang=en HTTP/1.1" 200') == (
        '"POST /ack/[token]/?lang=en HTTP/1.1" 200'
    )
