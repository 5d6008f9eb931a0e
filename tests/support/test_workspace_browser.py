"""The agent workspace and the incident page in Debian's chromium at 1280×900.

A screenshot of every window is kept under ``var/screenshots/failures`` when a step fails.
"""

import pytest

from core import roles
from support import services
from support.models import Ticket
from tests.browsers import kept_screenshot, logged_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_agent_replies_notes_raises_priority_and_resolves_on_the_ticket_page(
    page, live_server, staff_member, business
):
    agent = staff_member(roles.SUPPORT_AGENTS)
    ticket = services.ticket_create(
        title="The QR code at table 4 does not scan", business=business, category="qr_code"
    )
    logged_in(page, live_server, agent)

    page.goto(f"{live_server.url}/admin/support/ticket/{ticket.pk}/change/")
    kept_screenshot(page, "agent-workspace-opened")
    composer = page.locator("#composer-body")
    assert composer.bounding_box()["y"] < 900  # the composer is on the first screen

    composer.fill("We are looking at the code now.")
    composer.press("Control+Enter")
    page.wait_for_selector(".po-event-reply")
    assert "We are looking at the code now." in page.locator(".po-event-reply").inner_text()

    page.check("input[name=mode][value=note]")
    assert "po-mode-note" in page.locator("#composer").get_attribute("class")
    page.select_option("#canned", label="Thanks, we are on it")
    assert "Café Aurora" in page.locator("#composer-body").input_value()
    page.locator("#composer-body").fill("The printer smudged the code.")
    page.locator("#composer-body").press("Control+Enter")
    page.wait_for_selector(".po-event-note")
    assert "internal note" in page.locator(".po-event-note").inner_text().lower()

    page.select_option("#id_priority", "P1")
    page.click("#triage-save")
    page.wait_for_selector("text=updated.")
    assert "First response: 2 h in 24/7" in page.locator("#sla-clocks").inner_text()
    assert "met" in page.locator("#sla-clocks").inner_text()

    kept_screenshot(page, "agent-workspace-worked")
    page.click("button:has-text('Resolve')")
    page.wait_for_selector("text=Resolved.")
    assert page.locator("#id_status").input_value() == "resolved"

    ticket.refresh_from_db()
    assert (ticket.priority, ticket.status) == ("P1", Ticket.Status.RESOLVED)
    assert list(ticket.events.filter(kind__in=["reply", "note"]).values_list("public", flat=True))[
        :2
    ] == [True, False]


def test_triage_list_fits_1280_pixels_with_the_sidebar_open(
    page, live_server, staff_member, business
):
    agent = staff_member(roles.SUPPORT_AGENTS)
    for n in range(5):
        services.ticket_create(
            title=f"Card reader at the till number {n} keeps restarting during lunch",
            business=business,
            priority=["P0", "P1", "P2", "P3", "P2"][n],
        )
    logged_in(page, live_server, agent)

    page.goto(f"{live_server.url}/admin/support/ticket/")
    kept_screenshot(page, "triage-list-1280")
    assert page.locator("#nav-sidebar").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    results = page.locator("#changelist .results")
    clipped = results.evaluate("table => table.scrollWidth - table.clientWidth")
    sla_column = page.locator("th.column-sla_badge").bounding_box()
    visible = results.bounding_box()

    assert width <= 1280
    assert clipped <= 0  # the table is not cut off inside its box
    assert sla_column["x"] + sla_column["width"] <= visible["x"] + visible["width"]
    assert "left" in page.locator("td.field-sla_badge").first.inner_text()


def test_incident_acknowledged_mitigated_and_resolved_from_its_page(
    page, live_server, staff_member
):
    from support import incidents
    from support.models import Incident, Severity

    agent = staff_member(roles.SUPPORT_AGENTS)
    incident = incidents.incident_declare(title="Feedback form down", severity=Severity.SEV2)
    logged_in(page, live_server, agent)

    page.goto(f"{live_server.url}/admin/support/incident/{incident.pk}/change/")
    page.click("#incident-actions button:has-text('Acknowledge')")
    page.wait_for_selector("text=Acknowledged.")
    page.click("#incident-actions button:has-text('Mitigate')")
    page.wait_for_selector("text=Mitigated: monitoring.")
    page.click("#incident-actions button:has-text('Resolve')")
    page.wait_for_selector("text=write down the root cause")

    page.fill("#id_root_cause", "The form's database ran out of connections.")
    page.click("input[name=_continue]")
    page.click("#incident-actions button:has-text('Resolve')")
    page.wait_for_selector("text=Resolved.")
    page.click("text=Postmortem")
    assert "ran out of connections" in page.locator("#postmortem").inner_text()

    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    assert incident.acknowledged_at <= incident.mitigated_at <= incident.resolved_at


def test_from_an_empty_database_to_printed_codes_and_staff_cards_in_five_pages(
    page, live_server, staff_member
):
    from pilots.models import Pilot

    manager = staff_member(roles.PILOT_MANAGERS)
    logged_in(page, live_server, manager)
    pages_seen = []
    page.on("load", lambda loaded: pages_seen.append(loaded.url.split("?")[0]))

    page.goto(f"{live_server.url}/admin/setup/pilot/")  # 1: the pilot's details
    page.fill("#id_name", "Malmö autumn pilot")
    page.click("#setup-next")  # 2: cafés, trial limits and placements
    page.fill("#id_new_cafes", "Café Solsidan; Malmö; 300\nKafé Hamnen; Malmö; 120")
    page.click("#setup-next")  # 3: what to print, and Activate
    page.wait_for_selector("#print-staff-cards")
    page.click("#print-table-cards")  # 4: the table cards
    page.wait_for_load_state()
    table_cards = page.content()
    page.go_back()
    page.click("#print-staff-cards")  # 5: the staff cards
    page.wait_for_load_state()
    staff_cards = page.content()
    distinct_pages = set(pages_seen)
    page.go_back()
    page.click("#setup-activate")
    page.wait_for_selector("text=activated")

    assert len(distinct_pages) <= 5, pages_seen
    assert table_cards.count("Café Solsidan") >= 4 and table_cards.count("Kafé Hamnen") >= 4
    assert staff_cards.count('<p class="placement">Personal / Staff</p>') == 2
    assert Pilot.objects.get().status == Pilot.Status.ACTIVE
