"""Café notices: an incident over 15 minutes tells each affected café once, and when it ends."""

import pytest

from core.models import Message
from support import incidents
from support.jobs import escalations
from support.models import CafeNotice
from tests.support.on_call_helpers import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def cafes(make_business):
    return [
        make_business("Café Aurora", language="sv", contact_phone="070-111 22 33"),
        make_business("Harbour Café", language="en", contact_email="owner@harbour.example"),
        make_business("Kaffebaren", language="sv"),  # no contact
    ]


def declare(cafes, minutes):
    return incidents.incident_declare(
        title="Feedback form down",
        severity="SEV2",
        businesses=cafes,
        expected_downtime_minutes=minutes,
        body="Database failover",
    )


def test_each_cafe_is_told_once_in_its_language_and_again_when_resolved(cafes, clock):
    clock("2026-11-17 10:00")
    incident = declare(cafes, 45)
    escalations(at("2026-11-17 10:01"))  # the job finds nothing more to send
    incidents.incident_edit(incident=incident, changes={"title": "Feedback form down (DB)"})

    sms = Message.objects.get(channel="sms", purpose="cafe_notice")
    email = Message.objects.get(channel="email", purpose="cafe_notice")
    assert sms.recipient == "+46701112233" and "Café Aurora" in sms.body
    assert "driftstörning" in sms.body and "45 minuter" in sms.body
    assert email.recipient == "owner@harbour.example" and "about 45 minutes" in email.body
    assert CafeNotice.objects.filter(kind="outage").count() == 3
    assert CafeNotice.objects.get(business=cafes[2]).message is None

    incidents.incident_resolve(incident=incident, root_cause="Failover took too long")
    escalations(at("2026-11-17 11:00"))
    restored = Message.objects.filter(purpose="cafe_notice").order_by("pk")[2:]
    assert [m.channel for m in restored] == ["sms", "email"]
    assert "fungerar igen" in restored[0].body and "work again" in restored[1].body
    assert Message.objects.filter(purpose="cafe_notice").count() == 4


def test_short_or_unknown_downtime_tells_nobody_until_it_is_marked_longer(cafes, clock):
    clock("2026-11-17 10:00")
    incident = declare(cafes, 15)
    declare(cafes, None)
    assert not Message.objects.filter(purpose="cafe_notice").exists()

    incidents.incident_edit(incident=incident, changes={"expected_downtime_minutes": 20})
    assert Message.objects.filter(purpose="cafe_notice").count() == 2


def test_the_notice_names_only_the_cafe(cafes, clock):
    clock("2026-11-17 10:00")
    declare(cafes, 30)
    for message in Message.objects.filter(purpose="cafe_notice"):
        others = [c.name for c in cafes if c.name not in message.body]
        assert len(others) == 2
