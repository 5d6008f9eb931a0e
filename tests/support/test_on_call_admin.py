"""On call in the admin: who is on call on the dashboard, paging figures on the reports."""

import pytest
from django.core import mail

from core.outbox import messages_deliver_due
from core.roles import PILOT_MANAGERS
from pilots.jobs import weekly_report
from support import services
from support.models import EscalationPolicy, Responder
from support.selectors import paging_figures
from tests.support.on_call_helpers import ack_path, at, beat

pytestmark = pytest.mark.django_db


def test_the_dashboard_shows_who_is_on_call_now(team, clock, manager_client):
    clock("2026-11-24 12:00")
    page = manager_client.get("/admin/").content.decode()
    assert "On call now: Support on call" in page
    assert "primary <strong>bo</strong> · secondary anna" in page


def test_the_seeded_policies_follow_the_runbooks():
    critical = EscalationPolicy.objects.get(priority="P0")
    assert critical.severity == "SEV1"
    steps = [(s.delay_minutes, s.target, s.email, s.slack, s.sms) for s in critical.steps.all()]
    assert steps == [
        (0, "primary", "never", "always", "always"),
        (5, "secondary", "never", "always", "always"),
        (15, "leads", "never", "always", "always"),
    ]
    high = EscalationPolicy.objects.get(priority="P1").steps.get()
    assert (high.email, high.slack, high.sms) == ("always", "always", "out_of_hours")
    for priority in ("P2", "P3"):
        policy = EscalationPolicy.objects.get(priority=priority)
        assert policy.sla_notice == "in_hours"
        assert {s.email for s in policy.steps.all()} == {"in_hours"}
        assert (
            {s.sms for s in policy.steps.all()}
            == {s.slack for s in policy.steps.all()}
            == {"never"}
        )


def paged_and_acknowledged(team, clock, client, sms_fake):
    clock("2026-11-22 03:00")
    ticket = services.ticket_create(title="Payments failing", priority="P0")
    for minute in range(0, 7):
        beat(clock, f"2026-11-22 03:{minute:02d}")
    clock("2026-11-22 03:08")
    client.post(ack_path(sms_fake.sent()[1]["message"]))  # Bo's
    clock("2026-11-22 04:08")
    services.ticket_set_status(ticket=ticket, status="resolved")
    return ticket


def test_paging_figures_count_pages_acknowledgements_and_times(
    team, clock, client, sms_fake, slack_fake
):
    paged_and_acknowledged(team, clock, client, sms_fake)
    figures = paging_figures(start=at("2026-11-22 00:00").date(), end=at("2026-11-22 00:00").date())
    assert figures.pages_by_channel == {"email": 0, "sms": 2, "slack": 2}
    assert (figures.escalations, figures.acknowledged, figures.escalated) == (1, 1, 1)
    sev1 = next(row for row in figures.by_severity if row.label == "SEV1")
    assert sev1.mean_to_acknowledge.total_seconds() == 8 * 60
    assert sev1.mean_to_resolve.total_seconds() == 68 * 60
    (bo,) = figures.by_person
    assert (bo.label, bo.acknowledged) == ("bo", 1)


def test_the_support_reports_and_the_weekly_report_show_the_paging(
    team, clock, client, sms_fake, slack_fake, agent_client, staff_member
):
    paged_and_acknowledged(team, clock, client, sms_fake)
    clock("2026-11-23 10:00")
    page = agent_client.get(
        "/admin/support/ticket/reports/", {"start": "2026-11-16", "end": "2026-11-23"}
    ).content.decode()
    assert "escalated past the first person" in page
    assert "<td>SEV1</td><td>1</td><td>1</td><td>8 min</td><td>1</td><td>1 h 8 min</td>" in page
    assert "<td>bo</td>" in page

    manager = staff_member(PILOT_MANAGERS)
    manager.email = "maja@pilotops.example"
    manager.save()
    clock("2026-11-29 03:00")  # Sunday: the week of 23-28 November is reported
    mail.outbox.clear()
    weekly_report(at("2026-11-29 03:00"))
    messages_deliver_due()
    (report,) = [m for m in mail.outbox if "weekly report" in m.subject]
    assert "On call" in report.body and "Escalations:" in report.body


def test_on_call_admin_pages_render(team, clock, agent_client, viewer_client):
    clock("2026-11-22 03:00")
    ticket = services.ticket_create(title="Payments failing", priority="P0")
    for path in (
        "/admin/support/rotation/",
        f"/admin/support/rotation/{team.rotation.pk}/change/",
        "/admin/support/escalationpolicy/",
        "/admin/support/escalation/",
        "/admin/support/oncalloverride/",
        "/admin/support/responder/",
        f"/admin/support/ticket/{ticket.pk}/change/",
    ):
        assert agent_client.get(path).status_code == 200, path
    rotation_page = agent_client.get(f"/admin/support/rotation/{team.rotation.pk}/change/")
    assert b"primary: anna, secondary: bo" in rotation_page.content
    responder = Responder.objects.get(user=team.anna)
    assert (
        b"+46701110001"
        not in viewer_client.get(f"/admin/support/responder/{responder.pk}/change/").content
    )
    assert viewer_client.post("/admin/support/escalationpolicy/add/", {}).status_code == 403


def test_a_mobile_is_normalised_when_saved_in_the_admin(team, agent_client):
    responder = Responder.objects.get(user=team.bo)
    response = agent_client.post(
        f"/admin/support/responder/{responder.pk}/change/",
        {"user": team.bo.pk, "mobile": "070-999 88 77", "slack_member_id": "U0BO"},
    )
    assert response.status_code == 302
    responder.refresh_from_db()
    assert responder.mobile == "+46709998877"
