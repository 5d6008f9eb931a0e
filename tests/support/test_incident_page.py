"""Incidents worked on their page: Acknowledge, Mitigate, Resolve, and a structured postmortem."""

from datetime import date

import pytest
from django.contrib.auth.models import User

from support import incidents
from support.models import Escalation, Incident, Severity, Ticket

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def test_acknowledge_mitigate_resolve_buttons(agent_client):
    incident = incidents.incident_declare(title="QR codes fail", severity=Severity.SEV3)
    base = f"/admin/support/incident/{incident.pk}"

    page = agent_client.get(f"{base}/change/").content.decode()
    agent_client.post(f"{base}/acknowledge-now/")
    agent_client.post(f"{base}/mitigate/")
    mitigated = Incident.objects.get(pk=incident.pk)
    agent_client.post(f"{base}/resolve-now/")
    again = agent_client.post(f"{base}/mitigate/")

    incident.refresh_from_db()
    for button in ("Acknowledge", "Mitigate", "Resolve"):
        assert f">{button}</button>" in page
    assert mitigated.acknowledged_at and mitigated.status == Incident.Status.MONITORING
    assert mitigated.commander.username == "support-agents"
    assert incident.status == Incident.Status.RESOLVED
    assert any("resolved already" in m for m in messages_of(again))


def test_the_first_human_action_acknowledges_and_stops_the_paging(agent_client):
    incident = incidents.incident_declare(title="Payments down", severity=Severity.SEV1)
    assert Escalation.objects.filter(incident=incident, status="running").exists()

    agent_client.post(
        f"/admin/support/incident/{incident.pk}/post-update/",
        {"body": "Looking at Stripe's status page.", "status": "", "public": ""},
    )

    incident.refresh_from_db()
    assert incident.acknowledged_at is not None
    assert not Escalation.objects.filter(incident=incident, status="running").exists()
    times = {severity: (ack, res) for severity, ack, res in incidents.incident_response_times()}
    assert times["SEV1"][0] is not None  # time to acknowledge is measured


def test_resolve_on_a_sev1_asks_for_the_root_cause_first(agent_client):
    incident = incidents.incident_declare(title="Payments down", severity=Severity.SEV1)

    refused = agent_client.post(f"/admin/support/incident/{incident.pk}/resolve-now/")
    incidents.incident_edit(incident=incident, changes={"root_cause": "Expired Stripe key"})
    agent_client.post(f"/admin/support/incident/{incident.pk}/resolve-now/")

    assert any("write down the root cause" in m for m in messages_of(refused))
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED


def test_corrective_actions_are_opened_as_tickets_and_the_postmortem_reads_in_order(agent_client):
    incident = incidents.incident_declare(title="Payments down", severity=Severity.SEV2)
    owner = User.objects.create_user("bo", is_staff=True)
    incidents.incident_edit(
        incident=incident,
        changes={"summary": "Payouts failed for 40 minutes.", "impact": "12 cafés, 80 rewards."},
    )
    incidents.incident_post_update(
        incident=incident, body="Stripe key expired.", status="identified"
    )

    response = agent_client.post(
        f"/admin/support/incident/{incident.pk}/corrective-action/",
        {
            "description": "Alert 14 days before a key expires",
            "owner": owner.pk,
            "due_on": "2026-12-15",
        },
    )
    postmortem = agent_client.get(f"/admin/support/incident/{incident.pk}/postmortem/")

    action = incident.actions.get()
    assert response.status_code == 302
    assert (action.owner, action.due_on) == (owner, date(2026, 12, 15))
    assert action.ticket.assignee == owner and action.ticket.status == Ticket.Status.TRIAGED
    assert action.ticket in incident.tickets.all()
    text = postmortem.content.decode()
    headings = ["Summary", "Impact", "Timeline", "Root cause", "Corrective actions"]
    positions = [text.index(f"<h3>{heading}</h3>") for heading in headings]
    assert text.index("Payouts failed") < positions[1] < text.index("12 cafés") < positions[2]
    assert positions[2] < text.index("Stripe key expired.") < positions[3]
    assert text.rindex(action.ticket.reference) > positions[4]
    assert positions == sorted(positions)


def test_bad_corrective_action_input_is_a_message_and_viewers_change_nothing(
    agent_client, viewer_client
):
    incident = incidents.incident_declare(title="Slow page", severity=Severity.SEV3)
    url = f"/admin/support/incident/{incident.pk}"

    bad = agent_client.post(f"{url}/corrective-action/", {"description": "", "due_on": "soon"})
    denied = [viewer_client.post(f"{url}/{name}/") for name in ("acknowledge-now", "resolve-now")]

    assert bad.status_code == 302 and any("due on" in m for m in messages_of(bad))
    assert [r.status_code for r in denied] == [403, 403]
    assert viewer_client.get(f"{url}/postmortem/").status_code == 200
    incident.refresh_from_db()
    assert incident.status == Incident.Status.INVESTIGATING and incident.actions.count() == 0
