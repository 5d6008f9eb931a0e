"""The support back office pages outside its model admins, for the Swedish page check."""

from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from pilots.models import Business, Pilot
from support import incidents, services
from support.models import (
    ClosedDate,
    Incident,
    OnCallOverride,
    Responder,
    Rotation,
    RotationMember,
    SupportCalendar,
    Ticket,
)

PAGES = ["/admin/setup/pilot/", "/admin/support/ticket/reports/"]
# The staff card is printed for the café, in Swedish and English side by side
# whoever prints it: the same card as /staff/<token>/card/ (tests/support/test_staff_page.py).
PRINTED_IN_BOTH_LANGUAGES = [r"/admin/support/stafflink/\d+/card/"]
# The set-up flow's pages of the first demo pilot (make_rows adds them).
SETUP_PAGES = ("/admin/setup/pilot/{pk}/cafes/", "/admin/setup/pilot/{pk}/print/")


def make_rows() -> None:
    """What the demo lacks, so that every support admin change page is read.

    A responder, a rotation member and an on-call override, a closed day; an
    incident with updates, a corrective action and its escalation; a ticket's
    timeline with every kind of change (assigned, priority, status, escalated,
    acknowledged, reply, note).
    """
    now = timezone.now()
    agent = User.objects.create_user(
        "agent", email="agent@example.se", is_staff=True, password="not-used"
    )
    Responder.objects.create(user=agent, mobile="+46701234567", slack_member_id="U024BE7LH")
    rotation = Rotation.objects.order_by("pk").first()
    if not rotation.members.exists():
        RotationMember.objects.create(rotation=rotation, user=agent, position=1)
    OnCallOverride.objects.create(
        rotation=rotation,
        user=agent,
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=2),
        note="Swap with the weekend",
    )
    calendar = SupportCalendar.objects.order_by("pk").first()
    ClosedDate.objects.get_or_create(
        calendar=calendar, day=now.date() + timedelta(days=60), defaults={"reason": "Staff day"}
    )

    # The first ticket is the one whose page is read: every kind of change on its timeline.
    ticket = Ticket.objects.order_by("pk").first()
    services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    services.ticket_set_priority(ticket=ticket, priority="P0", actor=agent)
    services.ticket_escalate(ticket=ticket, actor=agent)
    services.ticket_acknowledge(ticket=ticket, actor=agent)
    services.ticket_reply(ticket=ticket, body="We are looking at it.", actor=agent)
    services.ticket_add_note(ticket=ticket, body="The router was restarted.", actor=agent)
    services.ticket_set_status(ticket=ticket, status=Ticket.Status.WAITING, actor=agent)
    services.ticket_reporter_reply(ticket=ticket, body="It works again, thanks!")
    services.ticket_set_status(ticket=ticket, status=Ticket.Status.IN_PROGRESS, actor=agent)

    pilot = Pilot.objects.order_by("pk").first()
    if pilot is not None:
        PAGES.extend(
            page.format(pk=pilot.pk)
            for page in SETUP_PAGES
            if page.format(pk=pilot.pk) not in PAGES
        )

    incident = incidents.incident_declare(
        title="Feedback form down in Malmö",
        severity="SEV2",
        commander=agent,
        businesses=list(Business.objects.order_by("pk")[:1]),
        tickets=[ticket],
        body="Customers see an error page.",
        actor=agent,
    )
    incidents.incident_post_update(
        incident=incident,
        body="The database is back; watching.",
        status=Incident.Status.MONITORING,
        public=True,
        next_update_in_minutes=30,
        actor=agent,
    )
    incidents.corrective_action_open(
        incident=incident,
        description="Alert on the form's error rate",
        owner=agent,
        due_on=now.date() + timedelta(days=14),
        actor=agent,
    )
