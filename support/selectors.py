"""Read paths of support: SLA attainment, response times, the backlog's age, who is on call."""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Prefetch, Q
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.models import Message
from pilots.selectors import local_day_bounds
from support import sla
from support.models import (
    CannedReply,
    Escalation,
    Incident,
    IncidentUpdate,
    OnCallOverride,
    Page,
    Priority,
    Rotation,
    RotationMember,
    Severity,
    Ticket,
    TicketEvent,
)
from support.oncall import OnCall, on_call_at

BACKLOG_AGES = (
    (_("under 1 day"), timedelta(0), timedelta(days=1)),
    (_("1-3 days"), timedelta(days=1), timedelta(days=3)),
    (_("3-7 days"), timedelta(days=3), timedelta(days=7)),
    (_("over 7 days"), timedelta(days=7), None),
)


@dataclass(frozen=True)
class Attainment:
    priority: str
    metric: str
    decided: int  # tickets whose target has been met or missed
    met: int

    @property
    def percent(self) -> float | None:
        return 100 * self.met / self.decided if self.decided else None


def sla_attainment(
    *, start: datetime, end: datetime, now: datetime | None = None, pilot=None
) -> list[Attainment]:
    """Share of targets met per priority and metric, for tickets opened in [start, end).

    With ``pilot``, only tickets about that pilot or one of its businesses.
    """
    now = now or timezone.now()
    tickets = Ticket.objects.filter(created_at__gte=start, created_at__lt=end)
    if pilot is not None:
        businesses = pilot.enrollments.values("business")
        tickets = tickets.filter(Q(pilot=pilot) | Q(business__in=businesses))
    responded_in_time = Q(
        first_response_at__isnull=False, first_response_at__lte=F("response_due_at")
    )
    resolved_in_time = Q(resolved_at__isnull=False, resolved_at__lte=F("resolution_due_at"))
    rows = {
        row["priority"]: row
        for row in tickets.values("priority")
        .annotate(
            response_decided=Count(
                "id", filter=Q(first_response_at__isnull=False) | Q(response_due_at__lte=now)
            ),
            response_met=Count("id", filter=responded_in_time),
            resolution_decided=Count(
                "id",
                filter=Q(resolved_at__isnull=False)
                | Q(resolution_due_at__lte=now, paused_at__isnull=True),
            ),
            resolution_met=Count("id", filter=resolved_in_time),
        )
        .order_by()
    }
    results = []
    for priority in Priority.values:
        row = rows.get(priority, {})
        for metric in ("response", "resolution"):
            results.append(
                Attainment(
                    priority=priority,
                    metric=metric,
                    decided=row.get(f"{metric}_decided", 0),
                    met=row.get(f"{metric}_met", 0),
                )
            )
    return results


@dataclass(frozen=True)
class MeanTimes:
    priority: str
    responses: int
    mean_response_minutes: float | None
    resolutions: int
    mean_resolution_minutes: float | None


def mean_business_times(*, start: datetime, end: datetime) -> list[MeanTimes]:
    """Mean business minutes to first response and to resolution, per priority."""
    sums: dict[str, list[float]] = {p: [0, 0, 0, 0] for p in Priority.values}
    tickets = (
        Ticket.objects.filter(created_at__gte=start, created_at__lt=end)
        .filter(Q(first_response_at__isnull=False) | Q(resolved_at__isnull=False))
        .select_related("calendar")
        .only(
            "priority",
            "clock_started_at",
            "first_response_at",
            "resolved_at",
            "pauses",
            "calendar",
        )
    )
    for ticket in tickets.iterator(chunk_size=2000):
        totals = sums[ticket.priority]
        for index, metric in ((0, sla.RESPONSE), (2, sla.RESOLUTION)):
            taken = sla.time_taken(ticket, metric)
            if taken is not None:
                totals[index] += 1
                totals[index + 1] += taken.total_seconds() / 60
    return [
        MeanTimes(
            priority=priority,
            responses=int(r),
            mean_response_minutes=rt / r if r else None,
            resolutions=int(s),
            mean_resolution_minutes=st / s if s else None,
        )
        for priority, (r, rt, s, st) in sums.items()
    ]


def backlog_by_age(*, now: datetime | None = None) -> list[tuple[str, int]]:
    """Open tickets by how long they have been open: one query."""
    now = now or timezone.now()
    counts = {}
    for index, (_label, younger, older) in enumerate(BACKLOG_AGES):
        window = Q(created_at__lte=now - younger)
        if older is not None:
            window &= Q(created_at__gt=now - older)
        counts[f"age_{index}"] = Count("id", filter=window)
    row = Ticket.objects.exclude(
        status__in=[Ticket.Status.RESOLVED, Ticket.Status.CLOSED]
    ).aggregate(**counts)
    return [(label, row[f"age_{index}"]) for index, (label, _, _) in enumerate(BACKLOG_AGES)]


@dataclass(frozen=True)
class SupportFigures:
    open_by_priority: dict[str, int]
    breaches: int
    open_incidents: int


def report_support_figures(*, start, end) -> SupportFigures:
    """Open tickets by priority, SLA breaches marked in the period, open incidents."""
    opens, closes = local_day_bounds(start, end)
    open_by_priority = dict.fromkeys(Priority.values, 0)
    for row in (
        Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES)
        .values("priority")
        .annotate(n=Count("id"))
        .order_by()
    ):
        open_by_priority[row["priority"]] = row["n"]
    breaches = Ticket.objects.filter(
        Q(response_breached_at__gte=opens, response_breached_at__lt=closes)
        | Q(resolution_breached_at__gte=opens, resolution_breached_at__lt=closes)
    ).count()
    incidents = Incident.objects.exclude(status=Incident.Status.RESOLVED).count()
    return SupportFigures(open_by_priority, breaches, incidents)


# ------------------------------------------------------------------------------
# On call
# ------------------------------------------------------------------------------
def on_call_now(*, now: datetime | None = None) -> list[OnCall]:
    """Who is primary and secondary on every rotation now, and until when: three queries."""
    now = now or timezone.now()
    rotations = list(
        Rotation.objects.prefetch_related(
            Prefetch("members", RotationMember.objects.select_related("user").order_by("position")),
            Prefetch(
                "overrides",
                OnCallOverride.objects.select_related("user").filter(
                    ends_at__gt=now, starts_at__lt=now + timedelta(weeks=53)
                ),
            ),
        )
    )
    return [
        on_call_at(
            rotation,
            now,
            members=list(rotation.members.all()),
            overrides=list(rotation.overrides.all()),
        )
        for rotation in rotations
    ]


@dataclass(frozen=True)
class ResponseTimes:
    label: str  # a severity (tickets counted by their priority's severity) or a person
    escalations: int
    acknowledged: int
    mean_to_acknowledge: timedelta | None
    resolved: int
    mean_to_resolve: timedelta | None


@dataclass(frozen=True)
class PagingFigures:
    pages_by_channel: dict[str, int]
    escalations: int
    acknowledged: int
    escalated: int  # reached a later step (nobody acknowledged in time)
    by_severity: list[ResponseTimes]
    by_person: list[ResponseTimes]


def paging_figures(*, start: date, end: date) -> PagingFigures:
    """Pages sent, escalations acknowledged and escalated, and response times, for
    escalations started on local days ``start``..``end``: per severity and per person
    who acknowledged."""
    opens, closes = local_day_bounds(start, end)
    escalations = list(
        Escalation.objects.filter(started_at__gte=opens, started_at__lt=closes)
        .select_related("acknowledged_by", "ticket", "incident")
        .only(
            "severity",
            "started_at",
            "acknowledged_at",
            "acknowledged_by__username",
            "escalated_at",
            "ticket__resolved_at",
            "incident__resolved_at",
        )
    )
    pages = {channel: 0 for channel in Message.Channel.values}
    for row in (
        Page.objects.filter(created_at__gte=opens, created_at__lt=closes)
        .filter(status__in=[Page.Status.QUEUED, Page.Status.DIGESTED])
        .values("channel")
        .annotate(n=Count("id"))
        .order_by()
    ):
        pages[row["channel"]] = row["n"]
    by_severity = {severity: [] for severity in Severity.values}
    by_person: dict[str, list] = {}
    for escalation in escalations:
        by_severity[escalation.severity].append(escalation)
        if escalation.acknowledged_by is not None:
            by_person.setdefault(escalation.acknowledged_by.get_username(), []).append(escalation)
    return PagingFigures(
        pages_by_channel=pages,
        escalations=len(escalations),
        acknowledged=sum(e.acknowledged_at is not None for e in escalations),
        escalated=sum(
            e.steps_taken > 1 and (e.acknowledged_at is None or e.acknowledged_at > e.started_at)
            for e in escalations
        ),
        by_severity=[_response_times(label, rows) for label, rows in by_severity.items()],
        by_person=[_response_times(label, rows) for label, rows in sorted(by_person.items())],
    )


def _mean(durations: list[timedelta]) -> timedelta | None:
    return sum(durations, timedelta(0)) / len(durations) if durations else None


def _response_times(label: str, escalations: list[Escalation]) -> ResponseTimes:
    to_acknowledge = [
        e.acknowledged_at - e.started_at for e in escalations if e.acknowledged_at is not None
    ]
    resolved_at = [(e, (e.ticket or e.incident).resolved_at) for e in escalations]
    to_resolve = [at - e.started_at for e, at in resolved_at if at is not None]
    return ResponseTimes(
        label=label,
        escalations=len(escalations),
        acknowledged=len(to_acknowledge),
        mean_to_acknowledge=_mean(to_acknowledge),
        resolved=len(to_resolve),
        mean_to_resolve=_mean(to_resolve),
    )


# ------------------------------------------------------------------------------
# The café staff page
# ------------------------------------------------------------------------------
STAFF_PAGE_REPORTS = 20


@dataclass(frozen=True)
class StaffPageReport:
    """One report as the café's staff see it: no internal notes, no contact data."""

    ticket: Ticket
    latest_reply: TicketEvent | None
    has_photo: bool

    @property
    def status(self) -> str:
        """The status in the café's words: the reporter waited on is the reader."""
        if self.ticket.status == Ticket.Status.WAITING:
            return gettext("Waiting on you")
        return self.ticket.get_status_display()


@dataclass(frozen=True)
class CafeIncidentNotice:
    """An open incident affecting the café, told in the words of its latest public update."""

    since: datetime
    message: str
    updated_at: datetime
    next_update_at: datetime | None


def staff_page_reports(business) -> list[StaffPageReport]:
    """The business's reports not yet closed, newest first, each with its latest public reply."""
    tickets = list(
        Ticket.objects.filter(business=business)
        .exclude(status=Ticket.Status.CLOSED)
        .annotate(has_photo=ExpressionWrapper(Q(photo__isnull=False), output_field=BooleanField()))
        .order_by("-created_at")[:STAFF_PAGE_REPORTS]
    )
    latest: dict[int, TicketEvent] = {}
    for event in TicketEvent.objects.filter(
        ticket__in=tickets, public=True, kind=TicketEvent.Kind.REPLY
    ).order_by("created_at", "id"):
        latest[event.ticket_id] = event
    return [
        StaffPageReport(ticket=t, latest_reply=latest.get(t.pk), has_photo=t.has_photo)
        for t in tickets
    ]


def cafe_incident_notices(business) -> list[CafeIncidentNotice]:
    """Open incidents naming ``business`` that have said something in public, newest first."""
    incidents = list(
        Incident.objects.filter(businesses=business)
        .exclude(status=Incident.Status.RESOLVED)
        .prefetch_related(
            Prefetch(
                "updates",
                queryset=IncidentUpdate.objects.filter(public=True).order_by("-created_at", "-id"),
                to_attr="public_updates",
            )
        )
        .order_by("-detected_at")
    )
    return [
        CafeIncidentNotice(
            since=incident.detected_at,
            message=incident.public_updates[0].body,
            updated_at=incident.public_updates[0].created_at,
            next_update_at=incident.public_updates[0].next_update_at,
        )
        for incident in incidents
        if incident.public_updates
    ]


# ------------------------------------------------------------------------------
# The agent workspace on the ticket page
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlaClock:
    """One SLA target of a ticket as the agent reads it."""

    metric: str
    name: str  # "First response" or "Resolution"
    target: str  # "10 h in Business hours (Stockholm)"
    due_at: datetime
    left: timedelta  # business time; negative once overdue
    state: str  # met, overdue, paused, stopped or running
    done_at: datetime | None = None

    @property
    def left_words(self) -> str:
        """The business time left (or late), in words: "2 h 10 min"."""
        return duration_words(int(abs(self.left.total_seconds()) // 60))


CLOCK_NAMES = {sla.RESPONSE: _("First response"), sla.RESOLUTION: _("Resolution")}


def duration_words(minutes: int) -> str:
    """600 → "10 h", 15 → "15 min", 1470 → "24 h 30 min"."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


def sla_clocks(ticket: Ticket, *, now: datetime | None = None) -> list[SlaClock]:
    """Both targets with their name, due time, business time left and state."""
    now = now or timezone.now()
    clocks = []
    for metric in sla.METRICS:
        done = ticket.first_response_at if metric == sla.RESPONSE else ticket.resolved_at
        due = sla.due_at(ticket, metric)
        if done is not None:
            state = "met" if done <= due else "overdue"
            left = sla.target(ticket, metric) - sla.time_used(ticket, metric, until=done)
        else:
            left = sla.time_left(ticket, metric, now=now)
            if not ticket.is_open:
                state = "stopped"
            elif metric == sla.RESOLUTION and ticket.paused_at is not None:
                state = "paused"
            else:
                state = "overdue" if due <= now else "running"
        target = sla.target(ticket, metric).total_seconds() // 60
        clocks.append(
            SlaClock(
                metric=metric,
                name=CLOCK_NAMES[metric],
                target=gettext("%(duration)s in %(calendar)s")
                % {"duration": duration_words(int(target)), "calendar": ticket.calendar.name},
                due_at=timezone.localtime(due),
                left=left,
                state=state,
                done_at=done and timezone.localtime(done),
            )
        )
    return clocks


def _status_label(value: str) -> str:
    return str(Ticket.Status(value).label) if value in Ticket.Status.values else value


def _priority_label(value: str) -> str:
    return str(Priority(value).label) if value in Priority.values else value


def _sla_mark_text(metric: str, level: str, due: str) -> str:
    when = parse_datetime(due) if due else None
    due_words = date_format(timezone.localtime(when), gettext("j M Y H:i")) if when else ""
    texts = {
        (sla.RESPONSE, sla.WARNING): gettext("First response warning: due %(due)s."),
        (sla.RESPONSE, sla.BREACH): gettext("First response breached: due %(due)s."),
        (sla.RESOLUTION, sla.WARNING): gettext("Resolution warning: due %(due)s."),
        (sla.RESOLUTION, sla.BREACH): gettext("Resolution breached: due %(due)s."),
    }
    return texts[(metric, level)] % {"due": due_words}


# The sentences services wrote before events kept their data, read back into data.
LEGACY_BODIES = {
    TicketEvent.Kind.CREATED: re.compile(r"Opened as (?P<priority>P\d)\b.*"),
    TicketEvent.Kind.ASSIGNED: re.compile(r"Assigned to (?P<assignee>.+)\."),
    TicketEvent.Kind.PRIORITY: re.compile(r"Priority (?P<previous>P\d) → (?P<priority>P\d)\."),
    TicketEvent.Kind.STATUS: re.compile(r"(?P<previous>[^→]+) → (?P<status>[^→]+)\."),
    TicketEvent.Kind.ESCALATED: re.compile(
        r"Escalated to level (?P<level>\d+)\.(?: (?P<reason>.*))?"
    ),
    TicketEvent.Kind.ACKNOWLEDGED: re.compile(r"Acknowledged by (?P<by>.+)\."),
    TicketEvent.Kind.SLA: re.compile(
        r"(?P<metric>Response|Resolution) (?P<level>warning|breach): due (?P<due>[\d-]+ [\d:]+)\."
    ),
}


def _legacy_data(event: TicketEvent) -> dict:
    """The data of an event written before events kept it, read from its English body."""
    pattern = LEGACY_BODIES.get(event.kind)
    found = pattern.fullmatch(event.body) if pattern else None
    if found is None:
        return {}
    data = {key: value for key, value in found.groupdict().items() if value is not None}
    if event.kind == TicketEvent.Kind.STATUS:
        with translation.override(settings.LANGUAGE_CODE):
            values = {str(status.label): status.value for status in Ticket.Status}
        if data["previous"] not in values or data["status"] not in values:
            return {}
        data = {"previous": values[data["previous"]], "status": values[data["status"]]}
    if event.kind == TicketEvent.Kind.ASSIGNED and data["assignee"] == "nobody":
        data["assignee"] = ""
    if event.kind == TicketEvent.Kind.ACKNOWLEDGED and data["by"] == "someone":
        data["by"] = ""
    if event.kind == TicketEvent.Kind.ESCALATED:
        data["level"] = int(data["level"])
    if event.kind == TicketEvent.Kind.SLA:
        due = timezone.make_aware(datetime.strptime(data["due"], "%Y-%m-%d %H:%M"))
        data.update(metric=data["metric"].lower(), due=due.isoformat())
    return data


def timeline_text(event: TicketEvent) -> str:
    """A change on a ticket's timeline in the reader's language, from its kind and data.

    Events written before they kept their data are read from their English
    body; replies, notes and the reporter's words are shown as written.
    """
    data = event.data or (_legacy_data(event) if event.kind != TicketEvent.Kind.NOTE else {})
    kind = event.kind
    Kind = TicketEvent.Kind
    if kind == Kind.CREATED and "priority" in data:
        return gettext("Opened as %(priority)s.") % {"priority": _priority_label(data["priority"])}
    if kind == Kind.NOTE and "edited" in data:
        return gettext("Edited: %(fields)s.") % {"fields": ", ".join(data["edited"])}
    if kind == Kind.ASSIGNED and "assignee" in data:
        if not data["assignee"]:
            return gettext("Unassigned.")
        return gettext("Assigned to %(person)s.") % {"person": data["assignee"]}
    if kind == Kind.PRIORITY and "priority" in data:
        return gettext("Priority %(previous)s → %(priority)s.") % {
            "previous": data["previous"],
            "priority": data["priority"],
        }
    if kind == Kind.STATUS and "status" in data:
        return gettext("%(previous)s → %(status)s.") % {
            "previous": _status_label(data["previous"]),
            "status": _status_label(data["status"]),
        }
    if kind == Kind.ESCALATED and "level" in data:
        text = gettext("Escalated to level %(level)d.") % {"level": data["level"]}
        return f"{text} {data['reason']}" if data.get("reason") else text
    if kind == Kind.ACKNOWLEDGED and "by" in data:
        return gettext("Acknowledged by %(person)s.") % {"person": data["by"] or gettext("someone")}
    if kind == Kind.SLA and "metric" in data:
        return _sla_mark_text(data["metric"], data["level"], data.get("due", ""))
    return event.body


SUPERSEDED = re.compile(r"superseded \((?P<trigger>.+)\)")


def stop_reason_text(reason: str) -> str:
    """Why an escalation stopped, in the reader's language (rows keep it in the default one)."""
    if found := SUPERSEDED.fullmatch(reason):
        return gettext("superseded (%(trigger)s)") % {"trigger": found["trigger"]}
    with translation.override(settings.LANGUAGE_CODE):
        stored = {str(status.label).lower(): status for status in Ticket.Status}
    if status := stored.get(reason.lower()):
        return str(status.label)
    return reason


def incident_update_text(update: IncidentUpdate) -> str:
    """A line of an incident's timeline in the reader's language, from its kind and data.

    Updates people wrote, and lines written before their data was kept, are shown as stored.
    """
    data = update.data or {}
    match data.get("kind"):
        case "declared":
            severity = data["severity"]
            label = Severity(severity).label if severity in Severity.values else severity
            return gettext("Declared as %(severity)s.") % {"severity": label}
        case "declared_from":
            return gettext("Declared from %(tickets)s.") % {"tickets": ", ".join(data["tickets"])}
        case "acknowledged":
            if not data.get("by"):
                return gettext("Acknowledged.")
            return gettext("Acknowledged by %(person)s.") % {"person": data["by"]}
        case "acknowledged_again":
            return gettext("Acknowledged again: paging stopped.")
        case "edited":
            return gettext("Edited: %(fields)s.") % {"fields": ", ".join(data["fields"])}
        case "severity":
            return gettext("Severity %(previous)s → %(severity)s.") % {
                "previous": data["previous"],
                "severity": data["severity"],
            }
        case "mitigated":
            return gettext("Mitigated; monitoring.")
        case "resolved":
            if not data.get("root_cause"):
                return gettext("Resolved.")
            return gettext("Resolved. Root cause: %(root_cause)s") % {
                "root_cause": data["root_cause"]
            }
        case "corrective_action":
            return gettext(
                "Corrective action opened as %(ticket)s: %(description)s "
                "(owner %(owner)s, due %(due)s)."
            ) % {
                "ticket": data["ticket"],
                "description": data["description"],
                "owner": data["owner"],
                "due": data["due"],
            }
        case "alert_firing":
            return gettext("Alert firing: %(summary)s") % {"summary": data["summary"]}
        case "alert_resolved":
            return gettext("Alert resolved: %(summary)s. Monitoring.") % {
                "summary": data["summary"]
            }
        case "alert_firing_again":
            return gettext("Alert firing again: %(summary)s") % {"summary": data["summary"]}
    return update.body


def business_tickets(ticket: Ticket, *, count: int = 5) -> list[Ticket]:
    """The café's other tickets: the open ones first, then the most recent."""
    if ticket.business_id is None:
        return []
    others = Ticket.objects.filter(business_id=ticket.business_id).exclude(pk=ticket.pk)
    open_ones = list(others.filter(status__in=Ticket.OPEN_STATUSES).order_by("-created_at")[:count])
    recent = list(
        others.exclude(status__in=Ticket.OPEN_STATUSES).order_by("-created_at")[
            : max(count - len(open_ones), 0)
        ]
    )
    return open_ones + recent


def canned_replies_for(ticket: Ticket, *, reporter_shown: bool) -> list[tuple[str, str]]:
    """(title, text) of the replies offered on ``ticket``, placeholders filled in.

    ``{reporter}`` is the reporter's name only for whoever may see contact
    data; for the others it is left out (``Hi {reporter},`` reads ``Hi,``).
    """
    replies = CannedReply.objects.filter(Q(category="") | Q(category=ticket.category))
    business = ticket.business.name if ticket.business_id else "your café"
    return [
        (
            reply.title,
            placeholders_fill(
                reply.body,
                business=business,
                reference=ticket.reference,
                reporter=ticket.reporter_name if reporter_shown else "",
            ),
        )
        for reply in replies
    ]


def placeholders_fill(text: str, *, business: str, reference: str, reporter: str) -> str:
    """Plain replacement, never ``str.format``: a stray brace in a reply stays as written."""
    if not reporter:
        text = text.replace(" {reporter}", "")
    for placeholder, value in (
        ("{business}", business),
        ("{reference}", reference),
        ("{reporter}", reporter),
    ):
        text = text.replace(placeholder, value)
    return text
