"""Every change to a ticket, each written to its timeline; and the SLA sweep.

The SLA rules live in :mod:`support.sla`; these services decide when they
apply: only a public reply by staff fulfils the first response, waiting on
the reporter pauses the resolution clock and the reporter's reply resumes it,
a priority change counts as if the ticket had always had the new priority
(refused once the ticket is resolved or closed), resolving stops both clocks
and reopening runs them again.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from core.maintenance import checkpoint
from core.metrics import SLA_EVENTS
from core.ratelimit import Rate, rate_limit_hit
from core.services import editable_fields_apply, event_record
from core.tokens import printed_link_token
from support import escalation, sla
from support.models import Priority, SLAPolicy, StaffLink, Ticket, TicketEvent, TicketPhoto
from support.photos import CleanPhoto

logger = logging.getLogger(__name__)


class TicketError(ValidationError):
    """A ticket change that cannot be made."""


def stored_text(label) -> str:
    """A label as rows keep it: in the default language, whoever made the change.

    The reader's language is applied when the row is shown (``selectors.timeline_text``).
    """
    with translation.override(settings.LANGUAGE_CODE):
        return str(label())


def _event(ticket: Ticket, kind: str, *, body: str = "", author=None, public=False, **data):
    return TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        body=body,
        author=author if author is not None and author.is_authenticated else None,
        public=public,
        data=data,
        created_at=timezone.now(),
    )


def _policy(priority: str) -> SLAPolicy:
    return SLAPolicy.objects.select_related("calendar").get(priority=priority)


@transaction.atomic
def ticket_create(
    *,
    title: str,
    description: str = "",
    priority: str = Priority.P2,
    category: str = Ticket.Category.OTHER,
    source: str = Ticket.Source.ADMIN,
    business=None,
    pilot=None,
    reporter_name: str = "",
    reporter_contact: str = "",
    dedupe_key: str = "",
    actor=None,
    now: datetime | None = None,
) -> Ticket:
    """Open a ticket with its SLA clock running from now.

    With a ``dedupe_key``, an open ticket with the same key is returned
    instead of a second one (automatic checks open one ticket per problem),
    also when a twin check opened it a moment ago: the database's
    one-open-ticket-per-key constraint decides, and the loser returns the
    winner's ticket.
    """
    if dedupe_key and (existing := _open_with_dedupe_key(dedupe_key)) is not None:
        return existing
    now = now or timezone.now()
    ticket = Ticket(
        reference=f"new-{uuid.uuid4().hex[:16]}",  # the real one needs the row's id
        title=title,
        description=description,
        priority=priority,
        category=category,
        source=source,
        business=business,
        pilot=pilot,
        reporter_name=reporter_name,
        reporter_contact=reporter_contact,
        dedupe_key=dedupe_key,
    )
    sla.policy_apply(ticket, _policy(priority), now=now)
    sla.urgency_refresh(ticket)
    # Checking the constraint here would turn a twin's insert into a validation
    # error; the insert below checks it and tells the twin apart.
    ticket.full_clean(exclude=["reference"], validate_constraints=False)
    try:
        with transaction.atomic():
            ticket.save()
    except IntegrityError:
        if dedupe_key and (existing := _open_with_dedupe_key(dedupe_key)) is not None:
            return existing
        raise
    ticket.reference = f"PO-{ticket.pk:05d}"
    ticket.save(update_fields=["reference"])
    _event(
        ticket,
        TicketEvent.Kind.CREATED,
        author=actor,
        public=True,
        body=f"Opened as {stored_text(ticket.get_priority_display)}.",
        source=source,
        priority=ticket.priority,
    )
    escalation.escalation_start(ticket=ticket, trigger="opened", now=now)
    return ticket


_OPEN = [
    Ticket.Status.NEW,
    Ticket.Status.TRIAGED,
    Ticket.Status.IN_PROGRESS,
    Ticket.Status.WAITING,
]


def _open_with_dedupe_key(dedupe_key: str) -> Ticket | None:
    return Ticket.objects.filter(dedupe_key=dedupe_key, status__in=_OPEN).first()


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().select_related("calendar").get(pk=ticket.pk)


def _save(ticket: Ticket) -> None:
    sla.urgency_refresh(ticket)
    ticket.full_clean()
    ticket.save()


DETAIL_FIELDS = (
    "title",
    "description",
    "business",
    "pilot",
    "category",
    "reporter_name",
    "reporter_contact",
)


@transaction.atomic
def ticket_update_details(*, ticket: Ticket, changes: dict, actor=None) -> Ticket:
    """Edit what a ticket is about (not its clock, priority or status)."""
    if not changes:
        return ticket
    locked = _locked(ticket)
    editable_fields_apply(locked, changes, allowed=DETAIL_FIELDS, error=TicketError)
    _save(locked)
    _event(
        locked,
        TicketEvent.Kind.NOTE,
        author=actor,
        body="Edited: " + ", ".join(sorted(changes)) + ".",
        edited=sorted(changes),
    )
    return locked


@transaction.atomic
def ticket_assign(*, ticket: Ticket, assignee, actor=None) -> Ticket:
    ticket = _locked(ticket)
    ticket.assignee = assignee
    if ticket.status == Ticket.Status.NEW:
        ticket.status = Ticket.Status.TRIAGED
    _save(ticket)
    name = assignee.get_username() if assignee else "nobody"
    _event(
        ticket,
        TicketEvent.Kind.ASSIGNED,
        author=actor,
        body=f"Assigned to {name}.",
        assignee=assignee.get_username() if assignee else "",
    )
    return ticket


@transaction.atomic
def ticket_set_priority(
    *, ticket: Ticket, priority: str, actor=None, now: datetime | None = None
) -> Ticket:
    """Change priority: the due times count as if the ticket had always had it (see ``sla``).

    Refused on a resolved or closed ticket: its clocks stand still, and the
    priority it was resolved under is the one its SLA is judged by.
    """
    ticket = _locked(ticket)
    if priority not in Priority.values:
        raise TicketError(f"{priority!r} is not a priority.")
    if ticket.priority == priority:
        return ticket
    if not ticket.is_open:
        raise TicketError(
            gettext("%(reference)s is %(status)s: reopen it before changing its priority.")
            % {"reference": ticket.reference, "status": ticket.get_status_display().lower()}
        )
    now = now or timezone.now()
    previous = ticket.priority
    sla.policy_apply(ticket, _policy(priority), now=now)
    _save(ticket)
    event = _event(
        ticket,
        TicketEvent.Kind.PRIORITY,
        author=actor,
        public=True,
        body=f"Priority {previous} → {priority}.",
        previous=previous,
        priority=priority,
    )
    if priority < previous:  # P0 comes first: more urgent than before
        escalation.escalation_start(ticket=ticket, trigger=f"priority:{event.pk}", now=now)
    return ticket


@transaction.atomic
def ticket_set_status(
    *, ticket: Ticket, status: str, actor=None, now: datetime | None = None
) -> Ticket:
    """Move a ticket on; waiting stops the resolution clock, resolving stops both clocks."""
    ticket = _locked(ticket)
    if status not in Ticket.Status.values:
        raise TicketError(f"{status!r} is not a ticket status.")
    if ticket.status == status:
        return ticket
    if ticket.status == Ticket.Status.CLOSED:
        raise TicketError(
            gettext("%(reference)s is closed; open a new ticket instead.")
            % {"reference": ticket.reference}
        )
    now = now or timezone.now()
    previous = ticket.status
    ticket.status = status
    if previous in (Ticket.Status.WAITING, Ticket.Status.RESOLVED) and status != (
        Ticket.Status.CLOSED
    ):
        sla.clock_run(ticket, now=now)
        ticket.paused_at = None
        if previous == Ticket.Status.RESOLVED:
            ticket.resolved_at = None  # reopened
    if status == Ticket.Status.WAITING:
        sla.clock_stop(ticket, sla.WAITING, now=now)
        ticket.paused_at = now
    if status == Ticket.Status.RESOLVED:
        sla.clock_stop(ticket, sla.RESOLVED, now=now)
        ticket.resolved_at = now
    if status == Ticket.Status.CLOSED:
        sla.clock_stop(ticket, sla.RESOLVED, now=now)
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    ticket.next_sla_check_at = sla.next_check(ticket)
    _save(ticket)
    _event(
        ticket,
        TicketEvent.Kind.STATUS,
        author=actor,
        public=True,
        body=(
            f"{stored_text(lambda: Ticket.Status(previous).label)} → "
            f"{stored_text(ticket.get_status_display)}."
        ),
        previous=previous,
        status=status,
    )
    if not ticket.is_open:
        escalation.escalations_stop(
            ticket=ticket, reason=stored_text(ticket.get_status_display), now=now
        )
    return ticket


@transaction.atomic
def ticket_escalate(
    *, ticket: Ticket, actor=None, reason: str = "", now: datetime | None = None
) -> Ticket:
    """An agent asks for help: one escalation level up, and the ticket's policy pages again."""
    ticket = _locked(ticket)
    if not ticket.is_open:
        raise TicketError(
            gettext("%(reference)s is %(status)s: reopen it before escalating it.")
            % {"reference": ticket.reference, "status": ticket.get_status_display().lower()}
        )
    now = now or timezone.now()
    ticket.escalation_level += 1
    _save(ticket)
    event = _event(
        ticket,
        TicketEvent.Kind.ESCALATED,
        author=actor,
        body=f"Escalated to level {ticket.escalation_level}." + (f" {reason}" if reason else ""),
        level=ticket.escalation_level,
        reason=reason,
    )
    escalation.escalation_start(ticket=ticket, trigger=f"escalated:{event.pk}", now=now)
    return ticket


@transaction.atomic
def ticket_acknowledge(*, ticket: Ticket, actor, now: datetime | None = None) -> Ticket:
    """Someone is on it: paging about the ticket stops, and it is theirs if nobody had it.

    Returns the ticket; an acknowledgement when nothing is paging records nothing.
    """
    ticket = _locked(ticket)
    now = now or timezone.now()
    person = actor if actor is not None and actor.is_authenticated else None
    if not escalation.escalations_acknowledge(ticket=ticket, by=person, now=now):
        return ticket
    name = person.get_username() if person else "someone"
    _event(
        ticket,
        TicketEvent.Kind.ACKNOWLEDGED,
        author=person,
        body=f"Acknowledged by {name}.",
        by=person.get_username() if person else "",
    )
    if ticket.assignee is None and person is not None and ticket.is_open:
        ticket.assignee = person
        if ticket.status == Ticket.Status.NEW:
            ticket.status = Ticket.Status.TRIAGED
        _save(ticket)
        _event(
            ticket,
            TicketEvent.Kind.ASSIGNED,
            author=person,
            body=f"Assigned to {name}.",
            assignee=name,
        )
    return ticket


@transaction.atomic
def ticket_reply(*, ticket: Ticket, body: str, actor, now: datetime | None = None) -> TicketEvent:
    """A public reply by staff: the first one fulfils the first-response target."""
    if not body.strip():
        raise TicketError(gettext("A reply needs some text."))
    ticket = _locked(ticket)
    now = now or timezone.now()
    if ticket.first_response_at is None:
        ticket.first_response_at = now
        ticket.next_sla_check_at = sla.next_check(ticket)
        _save(ticket)
    return _event(ticket, TicketEvent.Kind.REPLY, body=body.strip(), author=actor, public=True)


@transaction.atomic
def ticket_add_note(*, ticket: Ticket, body: str, actor) -> TicketEvent:
    """An internal note: never shown to the reporter, never counts as a response."""
    if not body.strip():
        raise TicketError("A note needs some text.")
    return _event(ticket, TicketEvent.Kind.NOTE, body=body.strip(), author=actor, public=False)


@transaction.atomic
def ticket_reporter_reply(*, ticket: Ticket, body: str, now: datetime | None = None) -> TicketEvent:
    """The reporter wrote back: a waiting ticket goes back to work and its clock runs again."""
    ticket = _locked(ticket)
    now = now or timezone.now()
    if ticket.status == Ticket.Status.WAITING:
        sla.clock_run(ticket, now=now)
        ticket.paused_at = None
        ticket.status = Ticket.Status.IN_PROGRESS
        _save(ticket)
    return _event(ticket, TicketEvent.Kind.REPORTER, body=body.strip(), public=True)


# ------------------------------------------------------------------------------
# The SLA sweep
# ------------------------------------------------------------------------------
@dataclass
class SweepSummary:
    checked: int = 0
    warnings: int = 0
    breaches: int = 0
    notified: int = 0
    marks: list[tuple[int, str, str, datetime]] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"SLA sweep: {self.checked} ticket(s) due, {self.warnings} warning(s), "
            f"{self.breaches} breach(es), {self.notified} page(s)"
        )


def sla_sweep(*, now: datetime | None = None, batch: int = 500) -> SweepSummary:
    """Mark warnings and breaches that have come due and hand them to the escalation engine.

    Reads only tickets whose ``next_sla_check_at`` has passed (an index range),
    so its cost follows the tickets due, not the tickets open. Works in
    batches: lock a batch (skipping rows another sweep holds), mark it in
    memory, write the marks and the tickets back in bulk. The warned/breached
    times on the locked rows decide what is new, and each mark is also a
    unique timeline row: running twice, or on two workers at once, marks and
    hands each mark over once.
    """
    now = now or timezone.now()
    summary = SweepSummary()
    while True:
        checkpoint()
        with transaction.atomic():
            tickets = list(
                Ticket.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("calendar")
                .filter(next_sla_check_at__lte=now)
                .order_by("next_sla_check_at")[:batch]
            )
            marked_before = len(summary.marks)
            events = [event for ticket in tickets for event in _marks_due(ticket, now, summary)]
            TicketEvent.objects.bulk_create(events, ignore_conflicts=True)
            _swept_tickets_save(tickets)
            # The pages are rows of the same transaction as the marks.
            by_id = {ticket.pk: ticket for ticket in tickets}
            summary.notified += escalation.sla_marks_receive(
                marks=[
                    (by_id[pk], metric, level, due)
                    for pk, metric, level, due in summary.marks[marked_before:]
                ],
                now=now,
            )
        summary.checked += len(tickets)
        if len(tickets) < batch:
            break
    return summary


SWEPT_FIELDS = [
    "response_warned_at",
    "response_breached_at",
    "resolution_warned_at",
    "resolution_breached_at",
    "escalation_level",
    "next_sla_check_at",
    "urgency_rank",
    "urgency_due_at",
]


def _swept_tickets_save(tickets: list[Ticket]) -> None:
    """Write the swept fields back in one batched statement.

    ``bulk_update`` builds a CASE expression per field and row, which costs
    more than the sweep itself at outage sizes; one parameterised UPDATE run
    with executemany does the same work in a fraction of the time.
    """
    if not tickets:
        return
    fields = [Ticket._meta.get_field(name) for name in SWEPT_FIELDS]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    # Only model metadata is formatted in; every value is a parameter.
    sql = f"UPDATE {quote(Ticket._meta.db_table)} SET {assignments} WHERE {quote('id')} = %s"  # noqa: S608
    rows = [
        [field.get_db_prep_save(getattr(ticket, field.attname), connection) for field in fields]
        + [ticket.pk]
        for ticket in tickets
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _marks_due(ticket: Ticket, now: datetime, summary: SweepSummary) -> list[TicketEvent]:
    """Mark on ``ticket`` (in memory) every warning and breach due by ``now``."""
    events = []
    for instant, metric, level in sla.checkpoints(ticket):
        if instant > now:
            break
        due = timezone.localtime(getattr(ticket, f"{metric}_due_at"))
        events.append(
            TicketEvent(
                ticket=ticket,
                kind=TicketEvent.Kind.SLA,
                sla_mark=f"{metric}:{level}",
                body=f"{metric.capitalize()} {level}: due {due:%Y-%m-%d %H:%M}.",
                data={"metric": metric, "level": level, "due": due.isoformat()},
                created_at=now,
            )
        )
        setattr(ticket, f"{metric}_{'warned' if level == sla.WARNING else 'breached'}_at", now)
        if level == sla.BREACH:
            ticket.escalation_level += 1
            summary.breaches += 1
        else:
            summary.warnings += 1
        summary.marks.append((ticket.pk, metric, level, instant))
        SLA_EVENTS.labels(priority=ticket.priority, metric=metric, level=level).inc()
    ticket.next_sla_check_at = sla.next_check(ticket)
    sla.urgency_refresh(ticket)
    return events


# ------------------------------------------------------------------------------
# Staff links
# ------------------------------------------------------------------------------
# What café staff report, and how urgent support treats it.
STAFF_REPORT_PRIORITY = {
    Ticket.Category.OUTAGE: Priority.P1,
    Ticket.Category.REWARD: Priority.P2,
    Ticket.Category.QR_CODE: Priority.P2,
    Ticket.Category.FEEDBACK_FORM: Priority.P2,
    Ticket.Category.OTHER: Priority.P3,
}


@transaction.atomic
def staff_link_issue(*, business, actor=None) -> StaffLink:
    """A new active staff link for ``business``; the previous one is revoked."""
    for link in StaffLink.objects.select_for_update().filter(
        business=business, status=StaffLink.Status.ACTIVE
    ):
        staff_link_revoke(link=link, actor=actor)
    link = StaffLink(business=business, token=printed_link_token())
    link.full_clean()
    link.save()
    event_record(
        subject=link, action="staff_link_issued", message="Staff link issued.", actor=actor
    )
    return link


@transaction.atomic
def staff_links_ensure(*, businesses, actor=None) -> list[StaffLink]:
    """A staff link for each of ``businesses`` that has none active; returns the new ones."""
    linked = set(
        StaffLink.objects.filter(
            business__in=businesses, status=StaffLink.Status.ACTIVE
        ).values_list("business_id", flat=True)
    )
    return [
        staff_link_issue(business=business, actor=actor)
        for business in businesses
        if business.pk not in linked
    ]


@transaction.atomic
def staff_link_revoke(*, link: StaffLink, actor=None) -> StaffLink:
    link = StaffLink.objects.select_for_update().get(pk=link.pk)
    if link.status == StaffLink.Status.REVOKED:
        return link
    link.status, link.revoked_at = StaffLink.Status.REVOKED, timezone.now()
    link.save(update_fields=["status", "revoked_at", "updated_at"])
    event_record(
        subject=link, action="staff_link_revoked", message="Staff link revoked.", actor=actor
    )
    return link


@transaction.atomic
def staff_report(
    *,
    link: StaffLink,
    category: str,
    description: str,
    reporter: str,
    client_hash: str,
    photo: CleanPhoto | None = None,
) -> Ticket:
    """A problem reported through a café's staff link becomes a ticket, with its photo if any.

    Limited per client and per link: a printed card passed around (or a
    script) cannot flood the queue. The photo was cleaned by support/photos.py.
    """
    limits = (
        ("staff-report", client_hash, settings.STAFF_REPORT_RATE),
        ("staff-report-link", str(link.pk), settings.STAFF_REPORT_RATE_PER_LINK),
    )
    for scope, key, rate in limits:  # a client refused here does not use up the link's share
        verdict = rate_limit_hit(scope=scope, key=key, rate=Rate.parse(rate))
        if not verdict.allowed:
            raise StaffReportRefused(verdict.retry_after_seconds)
    label = Ticket.Category(category).label
    ticket = ticket_create(
        title=f"{link.business.name}: {label}"[: Ticket._meta.get_field("title").max_length],
        description=description,
        priority=STAFF_REPORT_PRIORITY[category],
        category=category,
        source=Ticket.Source.STAFF_LINK,
        business=link.business,
        reporter_name=reporter,
    )
    if photo is not None:
        attached = TicketPhoto(
            ticket=ticket,
            content=photo.content,
            content_type=photo.content_type,
            width=photo.width,
            height=photo.height,
            byte_size=len(photo.content),
            created_at=timezone.now(),
        )
        attached.full_clean()
        attached.save()
    return ticket


class StaffReportRefused(Exception):
    def __init__(self, retry_after_seconds: int):
        super().__init__("too many reports")
        self.retry_after_seconds = retry_after_seconds


def tickets_auto_close(*, now: datetime, after_days: int = 7) -> int:
    """Close tickets resolved more than ``after_days`` ago; returns how many."""
    closed = 0
    stale = Ticket.objects.filter(
        status=Ticket.Status.RESOLVED, resolved_at__lt=now - timedelta(days=after_days)
    )
    for ticket in stale:
        ticket_set_status(ticket=ticket, status=Ticket.Status.CLOSED, now=now)
        closed += 1
    return closed


def ticket_contacts_anonymise(*, now: datetime) -> int:
    """Clear reporters' names and contacts of tickets older than the retention period.

    Their photos go too: a photo of a customer's phone can show a contact.
    Returns how many tickets had a name or contact cleared.
    """
    cutoff = now - timedelta(days=settings.RETENTION_DAYS)
    TicketPhoto.objects.filter(created_at__lt=cutoff).delete()
    return (
        Ticket.objects.filter(created_at__lt=cutoff)
        .exclude(reporter_name="", reporter_contact="")
        .update(reporter_name="", reporter_contact="", contact_anonymised_at=now)
    )
