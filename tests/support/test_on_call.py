"""On call with a frozen clock: the right person, at the right hour, on the right channel.

The Slack and SMS fakes are real HTTP servers; every message goes through the
outbox; the clock is frozen and moved minute by minute as beat would run.
"""

import pytest
from django.core import mail
from django.utils import timezone

from core.logging import EMAIL_PATTERN, PHONE_PATTERN
from core.models import Message
from support import services
from support.models import Escalation, Page, Ticket, TicketEvent
from tests.support.on_call_helpers import ack_path, at, beat, slack_mentions, sms_to

pytestmark = pytest.mark.django_db

REPORTER = "kund.svensson@example.se"
REPORTER_PHONE = "070-123 45 67"


def p0_ticket(**fields) -> Ticket:
    return services.ticket_create(
        title=f"Payments failing, reported by {REPORTER}",
        description=f"Call me on {REPORTER_PHONE}",
        priority="P0",
        reporter_name="Kim",
        reporter_contact=REPORTER,
        **fields,
    )


def test_p0_at_three_on_a_sunday_pages_primary_then_secondary_then_leads(
    team, clock, sms_fake, slack_fake
):
    clock("2026-11-22 03:00")  # a Sunday night
    p0_ticket()
    beat(clock, "2026-11-22 03:00")

    assert sms_to(sms_fake) == [team.mobile(team.anna)]
    assert slack_mentions(slack_fake) == ["U0ANNA"]

    for minute in range(1, 5):
        beat(clock, f"2026-11-22 03:{minute:02d}")
    assert len(sms_fake.sent()) == 1 and len(slack_fake.posted()) == 1, "nothing before 03:05"

    beat(clock, "2026-11-22 03:05")
    assert sms_to(sms_fake) == [team.mobile(team.anna), team.mobile(team.bo)]
    assert slack_mentions(slack_fake) == ["U0ANNA", "U0BO"]

    for minute in range(6, 15):
        beat(clock, f"2026-11-22 03:{minute:02d}")
    assert len(sms_fake.sent()) == 2, "nothing more before 03:15"

    for minute in range(15, 31):
        beat(clock, f"2026-11-22 03:{minute:02d}")
    assert sms_to(sms_fake) == [team.mobile(p) for p in (team.anna, team.bo, team.lena)]
    assert slack_mentions(slack_fake) == ["U0ANNA", "U0BO", "U0LENA"]

    texts = [t["message"] for t in sms_fake.sent()] + [p["text"] for p in slack_fake.posted()]
    for text in texts:
        assert "P0" in text and "/ack/" in text
        assert not EMAIL_PATTERN.search(text), text
        assert not PHONE_PATTERN.search(text), text
        assert "Kim" not in text and "Call me" not in text


def test_p0_paging_stops_when_the_link_is_used(team, clock, sms_fake, slack_fake, client):
    clock("2026-11-22 03:00")
    ticket = p0_ticket()
    beat(clock, "2026-11-22 03:00")
    beat(clock, "2026-11-22 03:01")

    clock("2026-11-22 03:02")
    path = ack_path(sms_fake.sent()[0]["message"])
    shown = client.get(path, {"lang": "en"})
    assert shown.status_code == 200 and b"Acknowledge this page?" in shown.content
    assert Escalation.objects.get(ticket=ticket).status == Escalation.Status.RUNNING, (
        "opening the link changes nothing"
    )
    done = client.post(path + "?lang=en")
    assert done.status_code == 200 and b"Acknowledged" in done.content

    for minute in range(3, 45):
        beat(clock, f"2026-11-22 03:{minute:02d}")
    assert sms_to(sms_fake) == [team.mobile(team.anna)]
    assert slack_mentions(slack_fake) == ["U0ANNA"]
    escalation = Escalation.objects.get(ticket=ticket)
    assert escalation.status == Escalation.Status.ACKNOWLEDGED
    assert escalation.acknowledged_by == team.anna
    assert escalation.acknowledged_at == at("2026-11-22 03:02")
    ticket.refresh_from_db()
    assert ticket.assignee == team.anna, "acknowledging takes the ticket"
    assert ticket.events.filter(kind=TicketEvent.Kind.ACKNOWLEDGED, author=team.anna).count() == 1


def test_p2_on_a_friday_evening_waits_for_monday_08_and_one_digest(
    team, clock, sms_fake, slack_fake
):
    clock("2026-11-20 20:00")  # Friday
    ticket = services.ticket_create(title="Table 7's code scans slowly", priority="P2")
    second = services.ticket_create(title="Menu card typo", priority="P3")
    instants = [f"2026-11-20 {h:02d}:00" for h in range(20, 24)]
    instants += [f"2026-11-{d} {h:02d}:00" for d in (21, 22) for h in range(24)]
    instants += [f"2026-11-23 {h:02d}:00" for h in range(8)] + ["2026-11-23 07:59"]
    for instant in instants:
        beat(clock, instant)
    assert not Message.objects.exists(), "nothing at all until Monday 08:00"

    beat(clock, "2026-11-23 08:00")
    beat(clock, "2026-11-23 08:01")

    assert sms_fake.sent() == [] and slack_fake.posted() == []
    (digest,) = Message.objects.all()
    assert digest.recipient == team.anna.email and digest.purpose == "page_digest"
    assert ticket.reference in digest.body and second.reference in digest.body
    assert digest.body.count("/ack/") == 2
    assert len(mail.outbox) == 1
    assert set(Page.objects.values_list("status", flat=True)) == {Page.Status.DIGESTED}


def test_p2_before_christmas_waits_until_the_office_opens_after_the_holidays(team, clock):
    clock("2026-12-23 19:00")  # Wednesday; julafton, juldagen, annandag jul follow
    services.ticket_create(title="Stand card faded", priority="P2")
    for instant in ("2026-12-24 08:00", "2026-12-25 09:00", "2026-12-27 12:00", "2026-12-28 07:59"):
        beat(clock, instant)
    assert not Message.objects.exists()

    beat(clock, "2026-12-28 08:00")
    assert Message.objects.filter(purpose="page_digest").count() == 1


def test_p2_in_business_hours_e_mails_the_primary_at_once(team, clock, sms_fake, slack_fake):
    clock("2026-11-17 10:00")  # Tuesday
    services.ticket_create(title="Table 7's code scans slowly", priority="P2")
    beat(clock, "2026-11-17 10:00")
    assert [m.to for m in mail.outbox] == [[team.anna.email]]
    assert sms_fake.sent() == [] and slack_fake.posted() == []


@pytest.mark.parametrize(
    ("instant", "texted"),
    [("2026-11-17 10:00", False), ("2026-11-17 22:00", True), ("2026-11-21 10:00", True)],
)
def test_p1_goes_to_slack_and_e_mail_and_by_sms_outside_business_hours(
    team, clock, sms_fake, slack_fake, instant, texted
):
    clock(instant)
    services.ticket_create(title="Feedback form slow at Café Aurora", priority="P1")
    beat(clock, instant)
    assert slack_mentions(slack_fake) == ["U0ANNA"]
    assert [m.to for m in mail.outbox] == [[team.anna.email]]
    assert sms_to(sms_fake) == ([team.mobile(team.anna)] if texted else [])


def test_nobody_on_call_pages_the_support_leads(team, clock, sms_fake, slack_fake):
    team.rotation.members.all().delete()
    clock("2026-11-22 03:00")
    p0_ticket()
    beat(clock, "2026-11-22 03:00")
    assert sms_to(sms_fake) == [team.mobile(team.lena)]
    assert slack_mentions(slack_fake) == ["U0LENA"]


def test_a_slack_title_cannot_mention_the_whole_channel(team, clock, slack_fake):
    clock("2026-11-22 03:00")
    services.ticket_create(
        title="<!channel> everything is down <https://evil.example|x>", priority="P0"
    )
    beat(clock, "2026-11-22 03:00")
    (post,) = slack_fake.posted()
    assert "<!channel>" not in post["text"] and "&lt;!channel&gt;" in post["text"]
    assert "<https://evil" not in post["text"]


def test_resolving_the_ticket_stops_its_escalation(team, clock, sms_fake):
    clock("2026-11-22 03:00")
    ticket = p0_ticket()
    beat(clock, "2026-11-22 03:00")
    clock("2026-11-22 03:03")
    services.ticket_set_status(ticket=ticket, status=Ticket.Status.RESOLVED)
    for minute in range(4, 20):
        beat(clock, f"2026-11-22 03:{minute:02d}")
    assert sms_to(sms_fake) == [team.mobile(team.anna)]
    assert Escalation.objects.get(ticket=ticket).status == Escalation.Status.STOPPED


def test_raising_a_ticket_to_p0_starts_the_p0_policy(team, clock, sms_fake):
    clock("2026-11-22 03:00")
    ticket = services.ticket_create(title="Reward e-mails late", priority="P2")
    beat(clock, "2026-11-22 03:00")
    assert sms_fake.sent() == []
    services.ticket_set_priority(ticket=ticket, priority="P0")
    beat(clock, "2026-11-22 03:00")
    assert sms_to(sms_fake) == [team.mobile(team.anna)]
    assert Escalation.objects.filter(ticket=ticket, status="stopped").count() == 1, (
        "the P2 escalation is superseded; its held e-mail will not be digested"
    )
    assert not Page.objects.filter(status=Page.Status.HELD).exists()


def test_the_admin_acknowledge_action_stops_paging(team, clock, sms_fake, agent_client):
    clock("2026-11-22 03:00")
    ticket = p0_ticket()
    beat(clock, "2026-11-22 03:00")
    response = agent_client.post(
        "/admin/support/ticket/",
        {"action": "acknowledge", "_selected_action": [ticket.pk]},
    )
    assert response.status_code == 302
    for minute in range(1, 20):
        beat(clock, f"2026-11-22 03:{minute:02d}")
    assert len(sms_fake.sent()) == 1
    assert Escalation.objects.get(ticket=ticket).status == Escalation.Status.ACKNOWLEDGED


def test_an_sla_breach_of_an_acknowledged_p2_waits_for_business_hours(team, clock):
    clock("2026-11-20 17:00")  # Friday: 7.5 of 10 business hours used by Monday 14:30
    ticket = services.ticket_create(title="Table 7's code scans slowly", priority="P2")
    beat(clock, "2026-11-20 17:00")
    services.ticket_acknowledge(ticket=ticket, actor=team.anna)
    mail.outbox.clear()
    beat(clock, "2026-11-21 14:31")
    assert mail.outbox == [], "Saturday: nothing due"
    beat(clock, "2026-11-23 14:31")
    notices = [m for m in mail.outbox if "response warning" in m.subject]
    assert sorted(a for m in notices for a in m.to) == [team.anna.email, team.lena.email]


def test_time_stamps_use_the_frozen_clock(clock):
    clock("2026-11-22 03:00")
    assert timezone.now() == at("2026-11-22 03:00")
