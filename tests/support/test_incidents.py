"""Incidents: the lifecycle, the postmortem rule, and Alertmanager's webhook."""

import json

import pytest

from support import incidents, services
from support.models import Incident, Severity

pytestmark = pytest.mark.django_db

TOKEN = "am-token-for-tests-0123456789"
URL = "/webhooks/alertmanager/"


def alertmanager_payload(status: str, *, fingerprint="a1b2c3d4e5f60718", **labels) -> dict:
    """What Alertmanager (webhook version 4) posts for one alert."""
    return {
        "version": "4",
        "groupKey": '{}:{alertname="PilotOpsHigh5xxRate"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "pilotops-portal",
        "groupLabels": {"alertname": "PilotOpsHigh5xxRate"},
        "commonLabels": {"alertname": "PilotOpsHigh5xxRate", "severity": "critical"},
        "commonAnnotations": {"summary": "More than 1 % of responses are 5xx errors"},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "PilotOpsHigh5xxRate", "severity": "critical", **labels},
                "annotations": {"summary": "More than 1 % of responses are 5xx errors"},
                "startsAt": "2026-11-23T10:00:00Z",
                "endsAt": "2026-11-23T10:20:00Z"
                if status == "resolved"
                else "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": fingerprint,
            }
        ],
    }


@pytest.fixture
def post(client, settings):
    settings.ALERTMANAGER_TOKEN = TOKEN

    def send(payload, token=TOKEN):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        body = payload if isinstance(payload, bytes) else json.dumps(payload)
        return client.post(URL, body, content_type="application/json", **headers)

    return send


def test_alert_firing_resolved_firing_makes_one_incident_with_three_updates(post, business):
    statuses = [
        post(alertmanager_payload(state, business=business.slug)).status_code
        for state in ("firing", "resolved", "firing")
    ]

    incident = Incident.objects.get()
    assert statuses == [200, 200, 200]
    assert incident.severity == Severity.SEV1
    assert list(incident.businesses.all()) == [business]
    assert list(incident.updates.values_list("status", flat=True)) == [
        "investigating",
        "monitoring",
        "investigating",
    ]
    assert incident.status == Incident.Status.INVESTIGATING


def test_alert_repeated_deliveries_are_idempotent(post):
    for _ in range(3):
        post(alertmanager_payload("firing"))
    for _ in range(2):
        post(alertmanager_payload("resolved"))

    incident = Incident.objects.get()
    assert incident.updates.count() == 2
    assert incident.status == Incident.Status.MONITORING


def test_alert_resolved_with_nothing_open_creates_nothing(post):
    assert post(alertmanager_payload("resolved")).status_code == 200
    assert Incident.objects.count() == 0


@pytest.mark.parametrize("token", ["", "wrong-token"])
def test_alert_receiver_wants_the_bearer_token(post, token):
    response = post(alertmanager_payload("firing"), token=token)

    assert response.status_code == 401
    assert Incident.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        json.dumps({"version": "3", "alerts": []}).encode(),
        json.dumps({"version": "4", "alerts": [{"status": "weird"}]}).encode(),
    ],
)
def test_alert_receiver_refuses_garbage_with_400(post, body):
    assert post(body).status_code == 400
    assert Incident.objects.count() == 0


def test_alert_receiver_refuses_everything_without_a_configured_token(client, settings):
    settings.ALERTMANAGER_TOKEN = ""

    response = client.post(
        URL,
        json.dumps(alertmanager_payload("firing")),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer ",
    )

    assert response.status_code == 401


# --- lifecycle ----------------------------------------------------------------
def test_resolving_a_sev1_without_root_cause_is_refused(admin_user):
    incident = incidents.incident_declare(title="Payments down", severity=Severity.SEV1)

    with pytest.raises(incidents.IncidentError, match="root cause"):
        incidents.incident_resolve(incident=incident, actor=admin_user)
    resolved = incidents.incident_resolve(
        incident=incident,
        root_cause="Expired Stripe key",
        corrective_actions="Key rotation alert",
        actor=admin_user,
    )

    assert resolved.status == Incident.Status.RESOLVED
    assert resolved.resolved_at is not None


def test_sev3_may_resolve_without_root_cause():
    incident = incidents.incident_declare(title="Slow page", severity=Severity.SEV3)

    assert incidents.incident_resolve(incident=incident).status == Incident.Status.RESOLVED


def test_incident_lifecycle_writes_its_timeline(admin_user):
    incident = incidents.incident_declare(title="QR codes fail", severity=Severity.SEV2)
    incidents.incident_acknowledge(incident=incident, actor=admin_user)
    incidents.incident_post_update(
        incident=incident,
        body="Printer ink issue",
        status=Incident.Status.IDENTIFIED,
        actor=admin_user,
    )
    incidents.incident_set_severity(incident=incident, severity=Severity.SEV3, actor=admin_user)
    incidents.incident_mitigate(incident=incident, actor=admin_user)

    incident.refresh_from_db()
    assert incident.commander == admin_user
    assert incident.acknowledged_at and incident.mitigated_at
    assert incident.updates.count() == 5
    assert incident.status == Incident.Status.MONITORING
    times = dict((s, (a, r)) for s, a, r in incidents.incident_response_times())
    assert times["SEV3"][0] is not None


def test_declaring_from_tickets_links_them(agent_client, business):
    first = services.ticket_create(title="Feedback form down", priority="P0", business=business)
    second = services.ticket_create(title="Customers cannot submit", priority="P1")

    response = agent_client.post(
        "/admin/support/ticket/",
        {"action": "declare_incident", "_selected_action": [first.pk, second.pk]},
    )

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert incident.severity == Severity.SEV1
    assert set(incident.tickets.all()) == {first, second}
    assert list(incident.businesses.all()) == [business]


def test_admin_resolve_action_explains_the_missing_root_cause(agent_client):
    incident = incidents.incident_declare(title="Outage", severity=Severity.SEV1)

    response = agent_client.post(
        "/admin/support/incident/",
        {"action": "resolve", "_selected_action": [incident.pk], "root_cause": ""},
        follow=True,
    )

    incident.refresh_from_db()
    assert incident.status != Incident.Status.RESOLVED
    assert "write down the root cause" in response.content.decode()


def test_admin_incident_list_and_update_form(agent_client):
    incident = incidents.incident_declare(title="Outage", severity=Severity.SEV2)

    assert agent_client.get("/admin/support/incident/").status_code == 200
    page = agent_client.get(f"/admin/support/incident/{incident.pk}/change/")
    agent_client.post(
        f"/admin/support/incident/{incident.pk}/post-update/",
        {"body": "Rolling back", "status": "identified", "public": "on"},
    )

    assert "Post an update" in page.content.decode()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.IDENTIFIED
    assert incident.updates.last().public
