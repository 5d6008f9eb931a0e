"""Incidents: declare, acknowledge, update, mitigate, resolve; and Alertmanager's alerts.

Every change writes an :class:`IncidentUpdate`, the incident's timeline.
Resolving a SEV1 or SEV2 needs its root cause: the postmortem is not optional
for the incidents that matter most.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Avg, DurationField, ExpressionWrapper, F
from django.utils import timezone
from django.utils.translation import gettext

from core.services import editable_fields_apply
from pilots.models import Business
from support import escalation, notices, services
from support.models import (
    PRIORITY_SEVERITY,
    CorrectiveAction,
    Incident,
    IncidentUpdate,
    Priority,
    Severity,
    Ticket,
)

POSTMORTEM_REQUIRED = (Severity.SEV1, Severity.SEV2)
ALERT_SEVERITY = {
    "critical": Severity.SEV1,
    "sev1": Severity.SEV1,
    "high": Severity.SEV2,
    "major": Severity.SEV2,
    "sev2": Severity.SEV2,
    "warning": Severity.SEV3,
    "minor": Severity.SEV3,
    "sev3": Severity.SEV3,
    "info": Severity.SEV4,
    "low": Severity.SEV4,
    "sev4": Severity.SEV4,
}


class IncidentError(ValidationError):
    """An incident change that cannot be made."""


def _update(
    incident: Incident,
    body: str,
    *,
    author=None,
    public=False,
    at=None,
    next_update_at=None,
    **data,
) -> IncidentUpdate:
    """One line of the timeline. ``data`` (a ``kind`` and its values) lets a line written by
    the system be shown in the reader's language; ``body`` is what cafés and old rows read."""
    return IncidentUpdate.objects.create(
        incident=incident,
        status=incident.status,
        body=body,
        data=data,
        author=author if author is not None and author.is_authenticated else None,
        public=public,
        next_update_at=next_update_at,
        created_at=at or timezone.now(),
    )


def _locked(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().get(pk=incident.pk)


def _acted_on(incident: Incident, actor, *, now: datetime) -> None:
    """A person's first action on an incident acknowledges it: time to acknowledge is measured.

    Pressing *Acknowledge* is not needed first: whoever posts an update,
    mitigates, resolves or edits it is on it, and the paging stops.
    """
    person = actor if actor is not None and actor.is_authenticated else None
    if person is None or incident.acknowledged_at is not None:
        return
    escalation.escalations_acknowledge(incident=incident, by=person, now=now)
    incident.acknowledged_at = now
    incident.commander = incident.commander or person
    incident.save(update_fields=["acknowledged_at", "commander", "updated_at"])
    _update(
        incident,
        f"Acknowledged by {person.get_username()}.",
        author=person,
        at=now,
        kind="acknowledged",
        by=person.get_username(),
    )


@transaction.atomic
def incident_declare(
    *,
    title: str,
    severity: str,
    commander=None,
    businesses=(),
    tickets=(),
    detected_at: datetime | None = None,
    alert_fingerprint: str = "",
    body: str = "",
    expected_downtime_minutes: int | None = None,
    declared_from: list[str] | None = None,
    alert_summary: str = "",
    actor=None,
    now: datetime | None = None,
) -> Incident:
    """Open an incident and page the on-call people its severity's policy names."""
    now = now or timezone.now()
    incident = Incident(
        reference=f"new-{uuid.uuid4().hex[:16]}",  # the real one needs the row's id
        title=title,
        severity=severity,
        commander=commander,
        detected_at=detected_at or now,
        alert_fingerprint=alert_fingerprint,
        expected_downtime_minutes=expected_downtime_minutes,
    )
    # One open incident per alert is the database's to decide (see alert_receive).
    incident.full_clean(exclude=["reference"], validate_constraints=False)
    incident.save()
    incident.reference = f"INC-{incident.pk:04d}"
    incident.save(update_fields=["reference"])
    incident.businesses.set(businesses)
    incident.tickets.set(tickets)
    declared = (
        {"kind": "declared_from", "tickets": list(declared_from)}
        if declared_from
        else {"kind": "declared", "severity": severity}
    )
    _update(
        incident,
        body or f"Declared as {services.stored_text(incident.get_severity_display)}.",
        author=actor,
        at=now,
        **(
            {"kind": "alert_firing", "summary": alert_summary}
            if alert_summary
            else ({} if body and not declared_from else declared)
        ),
    )
    escalation.escalation_start(incident=incident, trigger="opened", now=now)
    notices.cafe_notices_send(incident=incident, now=now)
    return incident


@transaction.atomic
def incident_declare_from_tickets(*, tickets: list[Ticket], actor=None) -> Incident:
    """An incident for what these tickets report, linked to them; severity from the top priority."""
    top = min(tickets, key=lambda ticket: ticket.priority)
    return incident_declare(
        title=top.title,
        severity=PRIORITY_SEVERITY[top.priority],
        commander=actor if actor is not None and actor.is_authenticated else None,
        businesses=[ticket.business for ticket in tickets if ticket.business_id],
        tickets=tickets,
        body="Declared from " + ", ".join(ticket.reference for ticket in tickets) + ".",
        declared_from=[ticket.reference for ticket in tickets],
        actor=actor,
    )


EDITABLE = (
    "title",
    "commander",
    "summary",
    "impact",
    "root_cause",
    "corrective_actions",
    "expected_downtime_minutes",
)


@transaction.atomic
def incident_edit(*, incident: Incident, changes: dict, actor=None) -> Incident:
    """Edit the description, commander or postmortem text; each edit is on the timeline."""
    if not changes:
        return incident
    locked = _locked(incident)
    _acted_on(locked, actor, now=timezone.now())
    editable_fields_apply(locked, changes, allowed=EDITABLE, error=IncidentError)
    locked.full_clean()
    locked.save()
    _update(
        locked,
        "Edited: " + ", ".join(sorted(changes)) + ".",
        author=actor,
        kind="edited",
        fields=sorted(changes),
    )
    notices.cafe_notices_send(incident=locked, now=timezone.now())
    return locked


@transaction.atomic
def incident_acknowledge(
    *, incident: Incident, actor=None, now: datetime | None = None
) -> Incident:
    """Someone is on it: the first acknowledgement sets the time; every one stops the paging."""
    incident = _locked(incident)
    now = now or timezone.now()
    person = actor if actor is not None and actor.is_authenticated else None
    stopped = escalation.escalations_acknowledge(incident=incident, by=person, now=now)
    if incident.acknowledged_at is None:
        incident.acknowledged_at = now
        if incident.commander is None and person is not None:
            incident.commander = person
        incident.save(update_fields=["acknowledged_at", "commander", "updated_at"])
        name = f" by {person.get_username()}" if person else ""
        _update(
            incident,
            f"Acknowledged{name}.",
            author=actor,
            at=now,
            kind="acknowledged",
            by=person.get_username() if person else "",
        )
    elif stopped:
        _update(
            incident,
            "Acknowledged again: paging stopped.",
            author=actor,
            at=now,
            kind="acknowledged_again",
        )
    return incident


@transaction.atomic
def incident_post_update(
    *,
    incident: Incident,
    body: str,
    status: str = "",
    public: bool = False,
    next_update_in_minutes: int | None = None,
    actor=None,
) -> IncidentUpdate:
    """Add to the incident's timeline; a public update (and when the next one is due)
    is what affected cafés see on their staff page."""
    if not body.strip():
        raise IncidentError(gettext("An update needs some text."))
    incident = _locked(incident)
    if status == Incident.Status.RESOLVED:
        raise IncidentError(gettext("Resolve the incident with its root cause instead."))
    _acted_on(incident, actor, now=timezone.now())
    if status and status != incident.status:
        incident.status = status
        if status == Incident.Status.MONITORING and incident.mitigated_at is None:
            incident.mitigated_at = timezone.now()
        incident.save(update_fields=["status", "mitigated_at", "updated_at"])
    next_update_at = (
        timezone.now() + timedelta(minutes=next_update_in_minutes)
        if next_update_in_minutes
        else None
    )
    return _update(
        incident, body.strip(), author=actor, public=public, next_update_at=next_update_at
    )


@transaction.atomic
def incident_set_severity(*, incident: Incident, severity: str, actor=None) -> Incident:
    incident = _locked(incident)
    if incident.severity != severity:
        previous = incident.severity
        incident.severity = severity
        incident.save(update_fields=["severity", "updated_at"])
        update = _update(
            incident,
            f"Severity {previous} → {severity}.",
            author=actor,
            kind="severity",
            previous=previous,
            severity=severity,
        )
        if severity < previous and incident.status != Incident.Status.RESOLVED:  # SEV1 is first
            escalation.escalation_start(incident=incident, trigger=f"severity:{update.pk}")
    return incident


@transaction.atomic
def incident_mitigate(*, incident: Incident, actor=None, body: str = "") -> Incident:
    """The harm has stopped: monitoring from now (a resolved incident stays resolved)."""
    incident = _locked(incident)
    if incident.status == Incident.Status.RESOLVED:
        raise IncidentError(
            gettext("%(reference)s is resolved already.") % {"reference": incident.reference}
        )
    if incident.status == Incident.Status.MONITORING:
        return incident
    _acted_on(incident, actor, now=timezone.now())
    incident.status = Incident.Status.MONITORING
    incident.mitigated_at = incident.mitigated_at or timezone.now()
    incident.save(update_fields=["status", "mitigated_at", "updated_at"])
    _update(
        incident,
        body or "Mitigated; monitoring.",
        author=actor,
        **({} if body else {"kind": "mitigated"}),
    )
    return incident


@transaction.atomic
def incident_resolve(
    *, incident: Incident, root_cause: str = "", corrective_actions: str = "", actor=None
) -> Incident:
    incident = _locked(incident)
    if incident.status == Incident.Status.RESOLVED:
        return incident
    root_cause = (root_cause or incident.root_cause).strip()
    if incident.severity in POSTMORTEM_REQUIRED and not root_cause:
        raise IncidentError(
            gettext("%(reference)s is %(severity)s: write down the root cause before resolving it.")
            % {"reference": incident.reference, "severity": incident.severity}
        )
    now = timezone.now()
    _acted_on(incident, actor, now=now)
    incident.status = Incident.Status.RESOLVED
    incident.root_cause = root_cause
    incident.corrective_actions = (corrective_actions or incident.corrective_actions).strip()
    incident.mitigated_at = incident.mitigated_at or now
    incident.resolved_at = now
    incident.save()
    _update(
        incident,
        "Resolved." + (f" Root cause: {root_cause}" if root_cause else ""),
        author=actor,
        public=True,
        kind="resolved",
        root_cause=root_cause,
    )
    escalation.escalations_stop(incident=incident, reason="resolved", now=now)
    notices.cafe_notices_send(incident=incident, now=now)
    return incident


# ------------------------------------------------------------------------------
# The postmortem
# ------------------------------------------------------------------------------
@transaction.atomic
def corrective_action_open(
    *, incident: Incident, description: str, owner, due_on: date, actor=None
) -> CorrectiveAction:
    """A corrective action with an owner and a due date, opened as a ticket assigned to them."""
    description = description.strip()
    if not description:
        raise IncidentError(gettext("A corrective action needs a description."))
    if owner is None:
        raise IncidentError(gettext("A corrective action needs an owner."))
    incident = _locked(incident)
    _acted_on(incident, actor, now=timezone.now())
    ticket = services.ticket_create(
        title=f"{incident.reference} corrective action: {description}"[:200],
        description=f"From the postmortem of {incident.reference} {incident.title}. "
        f"Due {due_on:%Y-%m-%d}, owner {owner.get_username()}.",
        priority=Priority.P3,
        category=Ticket.Category.OTHER,
        source=Ticket.Source.SYSTEM,
        actor=actor,
    )
    services.ticket_assign(ticket=ticket, assignee=owner, actor=actor)
    incident.tickets.add(ticket)
    action = CorrectiveAction(
        incident=incident, description=description, owner=owner, due_on=due_on, ticket=ticket
    )
    action.full_clean()
    action.save()
    _update(
        incident,
        f"Corrective action opened as {ticket.reference}: {description} "
        f"(owner {owner.get_username()}, due {due_on:%Y-%m-%d}).",
        author=actor,
        kind="corrective_action",
        ticket=ticket.reference,
        description=description,
        owner=owner.get_username(),
        due=due_on.isoformat(),
    )
    return action


@dataclass(frozen=True)
class Postmortem:
    incident: Incident
    timeline: list[IncidentUpdate]
    actions: list[CorrectiveAction]
    time_to_acknowledge: timedelta | None
    time_to_mitigate: timedelta | None
    time_to_resolve: timedelta | None


def postmortem(incident: Incident) -> Postmortem:
    """The structured postmortem; its timeline is the incident's updates, oldest first."""

    def since_detected(instant: datetime | None) -> timedelta | None:
        return instant - incident.detected_at if instant else None

    return Postmortem(
        incident=incident,
        timeline=list(incident.updates.select_related("author").order_by("created_at", "id")),
        actions=list(incident.actions.select_related("owner", "ticket")),
        time_to_acknowledge=since_detected(incident.acknowledged_at),
        time_to_mitigate=since_detected(incident.mitigated_at),
        time_to_resolve=since_detected(incident.resolved_at),
    )


# ------------------------------------------------------------------------------
# Alertmanager
# ------------------------------------------------------------------------------
class AlertPayloadError(ValueError):
    """Not an Alertmanager webhook payload (version 4)."""


@dataclass(frozen=True)
class Alert:
    status: str  # firing or resolved
    fingerprint: str
    name: str
    severity: str
    business_slug: str
    summary: str
    starts_at: str
    feature: str = ""  # the feature="<name>" label: a firing alert rolls that feature back


def alerts_parse(payload: object) -> list[Alert]:
    if not isinstance(payload, dict) or str(payload.get("version")) != "4":
        raise AlertPayloadError("expected an Alertmanager webhook payload, version 4")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise AlertPayloadError("'alerts' must be a list")
    parsed = []
    for alert in alerts:
        if not isinstance(alert, dict) or alert.get("status") not in ("firing", "resolved"):
            raise AlertPayloadError("each alert needs a status of firing or resolved")
        labels = alert.get("labels") or {}
        annotations = alert.get("annotations") or {}
        if not isinstance(labels, dict) or not isinstance(annotations, dict):
            raise AlertPayloadError("labels and annotations must be objects")
        fingerprint = str(alert.get("fingerprint") or "").strip()
        if not fingerprint:
            raise AlertPayloadError("each alert needs a fingerprint")
        parsed.append(
            Alert(
                status=alert["status"],
                fingerprint=fingerprint[:64],
                name=str(labels.get("alertname") or "alert")[:100],
                severity=ALERT_SEVERITY.get(str(labels.get("severity", "")).lower(), Severity.SEV3),
                business_slug=str(labels.get("business", "")),
                summary=str(annotations.get("summary") or annotations.get("description") or ""),
                starts_at=str(alert.get("startsAt", "")),
                feature=str(labels.get("feature") or "")[:50],
            )
        )
    return parsed


def _open_incident_of(alert: Alert) -> Incident | None:
    return (
        Incident.objects.select_for_update()
        .filter(alert_fingerprint=alert.fingerprint)
        .exclude(status=Incident.Status.RESOLVED)
        .first()
    )


@transaction.atomic
def alert_receive(alert: Alert) -> Incident | None:
    """Open, update or calm the incident of one alert; a repeated state changes nothing.

    Two deliveries of a new alert at once (Alertmanager retries, several
    replicas) open one incident: the one whose insert loses finds the other's.
    Opening the incident, or its alert firing again, starts its escalation in
    the same transaction: the delivery that loses pages nobody.
    """
    incident = _open_incident_of(alert)
    summary = f"{alert.name}: {alert.summary}" if alert.summary else alert.name
    if incident is None:
        if alert.status == "resolved":
            return None  # nothing open to calm
        businesses = (
            list(Business.objects.filter(slug=alert.business_slug)) if alert.business_slug else []
        )
        try:
            with transaction.atomic():
                incident = incident_declare(
                    title=summary[:200],
                    severity=alert.severity,
                    businesses=businesses,
                    alert_fingerprint=alert.fingerprint,
                    body=f"Alert firing: {summary}",
                    alert_summary=summary,
                )
                incident.alert_status = "firing"
                incident.save(update_fields=["alert_status"])
                return incident
        except IntegrityError:
            incident = _open_incident_of(alert)
            if incident is None:
                raise
    if incident.alert_status == alert.status:
        return incident  # the same news again
    incident.alert_status = alert.status
    if alert.status == "resolved":
        incident.status = Incident.Status.MONITORING
        incident.mitigated_at = incident.mitigated_at or timezone.now()
        body, kind = f"Alert resolved: {summary}. Monitoring.", "alert_resolved"
    else:
        incident.status = Incident.Status.INVESTIGATING
        body, kind = f"Alert firing again: {summary}", "alert_firing_again"
    incident.save(update_fields=["alert_status", "status", "mitigated_at", "updated_at"])
    update = _update(incident, body, kind=kind, summary=summary)
    if alert.status == "firing":
        escalation.escalation_start(incident=incident, trigger=f"firing:{update.pk}")
    return incident


# A firing alert labelled feature="<name>" rolls that feature back. The part that
# owns features registers how (from its AppConfig.ready): support knows no such part.
FeatureAlertHandler = Callable[..., None]  # (feature=, alert_name=, incident=)
feature_alert_handlers: list[FeatureAlertHandler] = []


def feature_alert_receive(alert: Alert, incident: Incident | None) -> None:
    """Hand a firing alert's ``feature`` label, with the incident it opened, to the handlers."""
    if alert.status != "firing" or not alert.feature or incident is None:
        return
    for handler in feature_alert_handlers:
        handler(feature=alert.feature, alert_name=alert.name, incident=incident)


# ------------------------------------------------------------------------------
# Reports
# ------------------------------------------------------------------------------
def incident_response_times() -> list[tuple[str, timedelta | None, timedelta | None]]:
    """Mean time to acknowledge and to resolve, per severity."""
    rows = {
        row["severity"]: row
        for row in Incident.objects.values("severity")
        .annotate(
            to_acknowledge=Avg(
                ExpressionWrapper(
                    F("acknowledged_at") - F("detected_at"), output_field=DurationField()
                )
            ),
            to_resolve=Avg(
                ExpressionWrapper(F("resolved_at") - F("detected_at"), output_field=DurationField())
            ),
        )
        .order_by()
    }
    return [
        (
            severity,
            rows.get(severity, {}).get("to_acknowledge"),
            rows.get(severity, {}).get("to_resolve"),
        )
        for severity in Severity.values
    ]
