"""Support speaks each staff member's language: the pages sent to them and the ticket page.

Pages and SLA notices are read from the outbox rows beat wrote; the clock is
frozen and moved as beat would run.
"""

import csv
import io
import re

import pytest
from django.urls import reverse

from core.models import Message
from core.services import staff_language_set
from support import incidents, services
from support.models import Ticket
from support.paging import PAGE_PURPOSE
from tests.conftest import _logged_in_client
from tests.support.on_call_helpers import beat

pytestmark = pytest.mark.django_db

# The production drill reads a page as "<priority> <reference> <what happened>: <title>".
PAGE_LINE = r"^P\d {reference} (.+?): {title}$"


def pages_to(person) -> list[Message]:
    return list(Message.objects.filter(purpose=PAGE_PURPOSE, recipient=person.email).order_by("pk"))


def what_happened(message: Message, ticket: Ticket) -> str:
    line = re.compile(
        PAGE_LINE.format(reference=re.escape(ticket.reference), title=re.escape(ticket.title)),
        re.MULTILINE,
    )
    return line.search(message.body).group(1)


@pytest.mark.parametrize(
    ("language", "news", "acknowledge", "open_it"),
    [
        ("sv", "nytt", "Kvittera (stoppar larmningen): ", "Öppna i admin: "),
        ("en", "new", "Acknowledge (stops the paging): ", "Open it in the admin: "),
    ],
)
def test_escalation_page_is_written_in_the_agents_language(
    team, clock, sms_fake, slack_fake, language, news, acknowledge, open_it
):
    staff_language_set(user=team.anna, language=language)
    clock("2026-11-17 10:00")  # Tuesday, business hours: the primary is e-mailed at once

    ticket = services.ticket_create(title="Table 7's code scans slowly", priority="P2")
    beat(clock, "2026-11-17 10:00")

    (page,) = pages_to(team.anna)
    assert page.subject == f"Pilot Ops [P2] {news}: {ticket.title}"
    assert what_happened(page, ticket) == news
    assert acknowledge in page.body and "/ack/" in page.body
    assert open_it in page.body


def test_sla_warning_and_breach_are_e_mailed_in_each_recipients_language(team, clock):
    staff_language_set(user=team.anna, language="sv")  # the owner reads Swedish
    clock("2026-11-20 17:00")  # Friday: 7.5 of 10 business hours used by Monday 14:30
    ticket = services.ticket_create(title="Table 7's code scans slowly", priority="P2")
    beat(clock, "2026-11-20 17:00")
    services.ticket_acknowledge(ticket=ticket, actor=team.anna)
    Message.objects.all().delete()

    beat(clock, "2026-11-23 14:31")
    beat(clock, "2026-11-24 12:00")

    swedish = [what_happened(m, ticket) for m in pages_to(team.anna)]
    english = [what_happened(m, ticket) for m in pages_to(team.lena)]  # a lead, no preference
    assert swedish == ["varning för svarstid", "svarstid överskriden"]
    assert english == ["response warning", "response breach"]
    (warning, breach) = pages_to(team.anna)
    assert warning.subject == f"Pilot Ops [P2] varning för svarstid: {ticket.title}"
    assert "Kvittera (stoppar larmningen): " in breach.body
    assert all("Acknowledge (stops the paging): " in m.body for m in pages_to(team.lena))


def test_ticket_page_tells_the_timeline_and_the_sla_clock_in_swedish(team, clock):
    staff_language_set(user=team.lena, language="sv")
    clock("2026-11-17 10:00")  # Tuesday, business hours
    ticket = services.ticket_create(title="Table 7's code scans slowly", priority="P2")
    services.ticket_assign(ticket=ticket, assignee=team.anna, actor=team.lena)
    services.ticket_set_priority(ticket=ticket, priority="P1", actor=team.lena)
    services.ticket_set_status(ticket=ticket, status=Ticket.Status.WAITING, actor=team.lena)
    page_url = reverse("admin:support_ticket_change", args=[ticket.pk])

    clock("2026-11-17 10:30")
    page = _logged_in_client(team.lena).get(page_url).content.decode()

    # The timeline: each change in Swedish, from its kind and data.
    assert "Skapat: Öppnat som P2 medel." in page
    assert "Tilldelat av lena: Tilldelat anna." in page
    assert "Prioritet ändrad av lena: Prioritet P2 → P1." in page
    assert "Status ändrad av lena: Sorterad → Väntar på anmälaren." in page
    # The SLA clock: the first response runs in business time, the resolution waits.
    assert re.search(r"Första svar: \d+ h i .+?</strong>", page)
    assert re.search(r"\d+ h( \d+ min)? kontorstid kvar", page)
    assert "⏸ pausad: väntar på anmälaren" in page
    assert "business time left" not in page and "Assigned to anna." not in page


def test_ticket_page_stays_english_for_an_agent_without_a_preference(team, clock):
    clock("2026-11-17 10:00")
    ticket = services.ticket_create(title="Table 7's code scans slowly", priority="P2")
    services.ticket_assign(ticket=ticket, assignee=team.anna, actor=team.lena)
    page_url = reverse("admin:support_ticket_change", args=[ticket.pk])

    page = _logged_in_client(team.lena).get(page_url).content.decode()

    assert "Assigned by lena: Assigned to anna." in page
    assert "business time left" in page and "kontorstid" not in page


def test_incident_timeline_reads_in_swedish_what_people_wrote_as_written(team, clock):
    staff_language_set(user=team.lena, language="sv")
    clock("2026-11-17 10:00")
    incident = incidents.incident_declare(title="Feedback form down", severity="SEV2")
    incidents.incident_acknowledge(incident=incident, actor=team.lena)
    incidents.incident_post_update(incident=incident, body="Restarting the database.")
    incidents.incident_mitigate(incident=incident, actor=team.lena)
    page_url = reverse("admin:support_incident_change", args=[incident.pk])

    page = _logged_in_client(team.lena).get(page_url).content.decode()

    for line in ("Utlyst som SEV2 allvarlig.", "Kvitterat av lena.", "Åtgärdad; övervakas."):
        assert line in page
    assert "Restarting the database." in page  # an update someone wrote is kept as written
    assert "Declared as" not in page and "Mitigated; monitoring." not in page


def test_ticket_export_has_swedish_titles_and_labels_for_a_swedish_agent(team, clock):
    staff_language_set(user=team.lena, language="sv")
    clock("2026-11-17 10:00")
    services.ticket_create(title="Kortläsaren är trasig", priority="P2")

    response = _logged_in_client(team.lena).get(reverse("admin:support_ticket_export"))

    raw = b"".join(response.streaming_content).decode("utf-8-sig")
    (row,) = csv.DictReader(io.StringIO(raw), delimiter=";")
    assert list(row)[:4] == ["referens", "skapad", "titel", "verksamhet"]
    assert row["prioritet"] == "P2 medel" and row["status"] == "Ny"
    assert row["svar senast"] and row["eskaleringsnivå"] == "0"


def test_ticket_events_written_before_they_kept_data_are_read_from_their_english_body(team, clock):
    staff_language_set(user=team.lena, language="sv")
    clock("2026-11-17 10:00")
    ticket = services.ticket_create(title="Table 7's code scans slowly", priority="P2")
    services.ticket_assign(ticket=ticket, assignee=team.anna, actor=team.lena)
    services.ticket_set_status(ticket=ticket, status=Ticket.Status.WAITING, actor=team.lena)
    services.ticket_escalate(ticket=ticket, actor=team.lena, reason="Kassan står still")
    ticket.events.update(data={})  # as rows written before the data was kept

    page_url = reverse("admin:support_ticket_change", args=[ticket.pk])
    page = _logged_in_client(team.lena).get(page_url).content.decode()

    assert "Skapat: Öppnat som P2 medel." in page
    assert "Tilldelat av lena: Tilldelat anna." in page
    assert "Status ändrad av lena: Sorterad → Väntar på anmälaren." in page
    assert "Eskalerat av lena: Eskalerat till nivå 1. Kassan står still" in page


def test_quiet_hours_digest_is_written_in_the_agents_language(team, clock):
    staff_language_set(user=team.anna, language="sv")
    clock("2026-11-20 20:00")  # Friday evening: P2 and P3 pages wait for Monday's digest
    first = services.ticket_create(title="Table 7's code scans slowly", priority="P2")
    second = services.ticket_create(title="Menu card typo", priority="P3")
    beat(clock, "2026-11-20 20:00")
    assert not Message.objects.exists()

    beat(clock, "2026-11-23 08:00")
    beat(clock, "2026-11-23 08:01")

    (digest,) = Message.objects.filter(purpose="page_digest", recipient=team.anna.email)
    assert digest.subject == "Pilot Ops: 2 saker från tysta timmar"
    assert digest.body.startswith("Kvarhållet utanför kontorstid:")
    assert f"P2 {first.reference} nytt (fre 20 nov 20:00): {first.title}" in digest.body
    assert f"P3 {second.reference} nytt" in digest.body
    assert digest.body.count("Kvittera: ") == 2 and "Acknowledge" not in digest.body
