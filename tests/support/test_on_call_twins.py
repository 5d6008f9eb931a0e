"""Two sweeps, two receivers, two escalation jobs at the same instant page each step once."""

import pytest
from django.utils import timezone

from core.outbox import messages_deliver_due
from support.models import Escalation, Page, Ticket
from support.oncall import on_call_at
from tests.support.on_call_helpers import at, slack_mentions, sms_to
from tests.twin_processes import twins_run

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

TICKETS = 20
ALERTS = 15


def test_two_sweeps_at_once_hand_each_mark_over_once(team):
    # Tickets from before on call existed: the sweep's breach starts their escalation.
    template = Ticket.objects.create(
        title="Payments failing",
        priority="P0",
        reference="TEMPLATE",
        **_clock_fields("2026-11-22 03:00"),
    )
    Ticket.objects.bulk_create(
        Ticket(
            **{f.attname: getattr(template, f.attname) for f in Ticket._meta.concrete_fields}
            | {"id": None, "reference": f"PO-T{n:03d}"}
        )
        for n in range(TICKETS)
    )
    template.delete()

    finished = twins_run(
        """
        from datetime import datetime
        from zoneinfo import ZoneInfo
        from support.services import sla_sweep
        summary = sla_sweep(now=datetime(2026, 11, 22, 3, 20, tzinfo=ZoneInfo("Europe/Stockholm")))
        print("SWEPT", summary.breaches, summary.notified)
        """
    )

    assert [f.returncode for f in finished] == [0, 0], [f.stderr[-2000:] for f in finished]
    assert Escalation.objects.count() == TICKETS
    # The warning (03:11) starts each ticket's escalation at the sweep's 03:20, its
    # breach (03:15) folds into it: Anna is paged once on SMS and Slack per ticket.
    pages = list(Page.objects.values_list("escalation", "recipient__username", "channel"))
    assert len(pages) == len(set(pages)) == TICKETS * 2
    assert {(name, channel) for _, name, channel in pages} == {("anna", "sms"), ("anna", "slack")}
    swept = [
        line.split() for f in finished for line in f.stdout.splitlines() if line.startswith("SWEPT")
    ]
    assert sum(int(breaches) for _, breaches, _ in swept) == TICKETS, "each breach marked once"


def test_two_receivers_at_once_page_each_new_alert_once(team, sms_fake, slack_fake, settings):
    finished = twins_run(
        f"""
        from support.incidents import Alert, alert_receive
        for n in range({ALERTS}):
            alert_receive(
                Alert(
                    status="firing",
                    fingerprint=f"twin{{n:04d}}",
                    name="PilotOpsPaymentsFailing",
                    severity="SEV1",
                    business_slug="",
                    summary="Payout failures above 2 %",
                    starts_at="",
                )
            )
        """
    )

    assert [f.returncode for f in finished] == [0, 0], [f.stderr[-2000:] for f in finished]
    assert Escalation.objects.count() == ALERTS
    assert Page.objects.count() == ALERTS * 2  # the primary: SMS and Slack, once per incident
    primary = on_call_at(team.rotation).primary  # the twins ran at the real time
    messages_deliver_due(now=timezone.now())
    assert sms_to(sms_fake) == [team.mobile(primary)] * ALERTS
    assert slack_mentions(slack_fake) == [team.member_id(primary)] * ALERTS


def test_two_escalation_jobs_at_once_take_each_step_once(team):
    from support.services import ticket_create

    for n in range(TICKETS):
        ticket_create(title=f"Payments failing {n}", priority="P0", now=at("2026-11-22 03:00"))
    assert Page.objects.count() == TICKETS * 2

    finished = twins_run(
        """
        from datetime import datetime
        from zoneinfo import ZoneInfo
        from support.escalation import escalations_run
        stockholm = ZoneInfo("Europe/Stockholm")
        together("five")
        escalations_run(now=datetime(2026, 11, 22, 3, 5, tzinfo=stockholm))
        together("fifteen")
        escalations_run(now=datetime(2026, 11, 22, 3, 15, tzinfo=stockholm))
        """
    )

    assert [f.returncode for f in finished] == [0, 0], [f.stderr[-2000:] for f in finished]
    people = list(Page.objects.values_list("recipient__username", flat=True))
    assert sorted(set(people)) == ["anna", "bo", "lena"]
    assert len(people) == TICKETS * 6  # three people, SMS and Slack each, once per ticket
    assert set(Escalation.objects.values_list("steps_taken", flat=True)) == {3}


def _clock_fields(created: str) -> dict:
    """An SLA clock on the P0 policy started at ``created`` (response due 15 minutes later)."""
    from support import sla
    from support.models import SLAPolicy

    ticket = Ticket(title="x", priority="P0")
    sla.policy_apply(ticket, SLAPolicy.objects.get(priority="P0"), now=at(created))
    sla.urgency_refresh(ticket)
    fields = (
        "calendar",
        "first_response_minutes",
        "resolution_minutes",
        "warning_share",
        "clock_started_at",
        "response_due_at",
        "resolution_due_at",
        "next_sla_check_at",
        "urgency_rank",
        "urgency_due_at",
    )
    return {name: getattr(ticket, name) for name in fields} | {"created_at": at(created)}
