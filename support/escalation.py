"""The escalation engine: every event that needs a person goes through here.

Events come from the services that notice them, in the transaction that
records them, so an event is handed over exactly when it happened:

* a ticket opened, or its priority raised; an incident declared (by a person
  or a firing alert), its alert firing again, its severity raised: each
  **starts an escalation** with the policy of the ticket's priority or the
  incident's severity (one per subject and trigger, decided by the database);
* an SLA warning or breach marked by the sweep: **folded** into an
  unacknowledged escalation of the ticket that still has steps to come (it is
  paging already), otherwise an **SLA notice** e-mailed to the ticket's owner
  and the Support leads, following the policy's ``sla_notice`` hours. A ticket
  that never had an escalation starts one.

An escalation takes its policy's steps in order, each ``delay_minutes`` after
it started: the steps already due at once in the same transaction, later
ones from the every-minute ``escalations`` job. Moving to the next step is a
conditional update from the position expected, and every page is a unique
row, so two sweeps, two receivers or two jobs at once page each step once.
Acknowledging (the link in any page, or the admin) stops every escalation of
its subject; resolving the subject stops them too.

Quiet hours: each channel of a step has a rule (never, at any hour, outside
business hours only, business hours only). A page for business hours only
that falls outside them is held, and at the calendar's next opening each
person gets one digest e-mail of everything held for them (what was handled
meanwhile is dropped).
"""

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core import roles
from core.maintenance import Counts, checkpoint
from core.models import Message
from support.business_time import BusinessCalendar, is_open
from support.models import (
    PRIORITY_SEVERITY,
    ChannelRule,
    Escalation,
    EscalationPolicy,
    EscalationStep,
    Incident,
    Page,
    Ticket,
)
from support.oncall import on_call_at
from support.paging import Subject, digest_queue, page_write

LIVE = (Escalation.Status.RUNNING, Escalation.Status.WAITING)
CHANNELS = (Message.Channel.EMAIL, Message.Channel.SLACK, Message.Channel.SMS)


def _policy(subject: Subject) -> EscalationPolicy | None:
    policies = EscalationPolicy.objects.select_related("rotation", "calendar")
    if subject.ticket:
        return policies.filter(priority=subject.ticket.priority).first()
    return policies.filter(severity=subject.incident.severity).first()


def _steps(policy: EscalationPolicy) -> list[EscalationStep]:
    return list(policy.steps.order_by("position"))


def _calendar(policy: EscalationPolicy) -> BusinessCalendar:
    return policy.calendar.business_calendar()


# ------------------------------------------------------------------------------
# Starting
# ------------------------------------------------------------------------------
def escalation_start(
    *,
    ticket: Ticket | None = None,
    incident: Incident | None = None,
    trigger: str,
    now: datetime | None = None,
) -> Escalation | None:
    """Start paging about ``ticket`` or ``incident`` for ``trigger``; runs in the caller's
    transaction. Returns None when no policy covers it, or when a twin started it already.

    A new escalation supersedes the subject's earlier ones still paging.
    """
    now = now or timezone.now()
    subject = Subject(ticket=ticket, incident=incident)
    policy = _policy(subject)
    if policy is None:
        return None
    steps = _steps(policy)
    first = steps[0] if steps else None
    escalation = Escalation(
        **subject.filter(),
        trigger=trigger,
        policy=policy,
        severity=PRIORITY_SEVERITY[ticket.priority] if ticket else incident.severity,
        started_at=now,
        status=Escalation.Status.RUNNING if first else Escalation.Status.WAITING,
        next_position=first.position if first else None,
        next_step_at=now + timedelta(minutes=first.delay_minutes) if first else None,
    )
    escalation.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            escalation.save()
    except IntegrityError:
        return None  # a twin handed over the same event a moment ago
    superseded = (
        Escalation.objects.filter(**subject.filter(), status__in=LIVE)
        .exclude(pk=escalation.pk)
        .values_list("pk", flat=True)
    )
    _finish(
        list(superseded),
        now=now,
        status=Escalation.Status.STOPPED,
        stop_reason=f"superseded ({trigger})",
    )
    steps_take(escalation, now=now, steps=steps)
    return escalation


# ------------------------------------------------------------------------------
# Taking steps
# ------------------------------------------------------------------------------
def steps_take(
    escalation: Escalation, *, now: datetime, steps: list[EscalationStep] | None = None
) -> int:
    """Take every step of ``escalation`` due by ``now``, each once; returns how many it took."""
    steps = steps if steps is not None else _steps(escalation.policy)
    subject = Subject.of(escalation)
    taken = 0
    while (
        escalation.status == Escalation.Status.RUNNING
        and escalation.next_step_at is not None
        and escalation.next_step_at <= now
    ):
        if not subject.is_open:
            _finish(
                [escalation.pk], now=now, status=Escalation.Status.STOPPED, stop_reason="resolved"
            )
            break
        step = next((s for s in steps if s.position == escalation.next_position), None)
        following = next((s for s in steps if step and s.position > step.position), None)
        moved = {
            "next_position": following.position if following else None,
            "next_step_at": escalation.started_at + timedelta(minutes=following.delay_minutes)
            if following
            else None,
            "status": Escalation.Status.RUNNING if following else Escalation.Status.WAITING,
        }
        won = Escalation.objects.filter(
            pk=escalation.pk,
            status=Escalation.Status.RUNNING,
            next_position=escalation.next_position,
        ).update(steps_taken=F("steps_taken") + 1, **moved)
        if not won:
            break  # another process took this step
        for name, value in moved.items():
            setattr(escalation, name, value)
        escalation.steps_taken += 1
        if step is not None and step.delay_minutes and escalation.escalated_at is None:
            escalation.escalated_at = now
            Escalation.objects.filter(pk=escalation.pk, escalated_at__isnull=True).update(
                escalated_at=now
            )
        if step is not None:
            _step_pages(escalation, step, subject, now=now)
            taken += 1
    return taken


def _step_pages(escalation: Escalation, step: EscalationStep, subject: Subject, *, now) -> None:
    people = _targets(step.target, escalation.policy, subject, now=now)
    calendar = _calendar(escalation.policy)
    for channel, rule in step.channel_rules().items():
        decision = channel_decision(rule, calendar, now)
        if decision is None:
            continue
        for person in people:
            page_write(
                escalation=escalation,
                key=f"step-{step.position}",
                person=person,
                channel=channel,
                now=now,
                held_until=decision if decision is not True else None,
            )


def channel_decision(rule: str, calendar: BusinessCalendar, now: datetime):
    """True: send now; an instant: hold until then (the next opening); None: not on this channel."""
    if rule == ChannelRule.ALWAYS:
        return True
    if rule == ChannelRule.NEVER:
        return None
    open_now = is_open(calendar, now)
    if rule == ChannelRule.OUT_OF_HOURS:
        return None if open_now else True
    if open_now:
        return True
    opens, _closes = next(calendar.intervals_from(now))
    return opens


def _leads() -> list[User]:
    return list(
        User.objects.filter(groups__name=roles.SUPPORT_LEADS, is_active=True).order_by("pk")
    )


def _targets(
    target: str, policy: EscalationPolicy, subject: Subject, *, now: datetime
) -> list[User]:
    """The people a step pages. Nobody on call on a tier: the Support leads stand in."""
    if target == EscalationStep.Target.LEADS:
        return _leads()
    if target == EscalationStep.Target.OWNER:
        owner = subject.owner
        return [owner] if owner is not None and owner.is_active else []
    on_call = on_call_at(policy.rotation, now)
    person = on_call.primary if target == EscalationStep.Target.PRIMARY else on_call.secondary
    return [person] if person is not None and person.is_active else _leads()


# ------------------------------------------------------------------------------
# SLA marks
# ------------------------------------------------------------------------------
def sla_marks_receive(*, marks: list[tuple[Ticket, str, str, datetime]], now: datetime) -> int:
    """Hand the sweep's new marks (ticket, metric, level, when due) over, in its transaction.

    A mark due before the last step of an unacknowledged escalation of the
    ticket is folded into it: that escalation is paging about the ticket
    already. Whether a mark folds depends only on the instants, never on
    whether the escalation job or the sweep ran first. Returns how many
    pages went out or were held for the marks.
    """
    pages = 0
    for ticket, metric, level, due in marks:
        trigger = f"sla:{metric}:{level}"
        escalations = list(
            Escalation.objects.select_related("policy__calendar", "policy__rotation").filter(
                ticket=ticket
            )
        )
        if not escalations:
            started = escalation_start(ticket=ticket, trigger=trigger, now=now)
            pages += started.pages.count() if started else 0
            continue
        if any(
            e.status == Escalation.Status.RUNNING and due < last_step_at(e) for e in escalations
        ):
            continue
        latest = max(escalations, key=lambda e: (e.started_at, e.pk))
        pages += _sla_notice(latest, ticket, trigger, escalations, now=now)
    return pages


def last_step_at(escalation: Escalation) -> datetime:
    delays = escalation.policy.steps.values_list("delay_minutes", flat=True)
    return escalation.started_at + timedelta(minutes=max(delays, default=0))


def _sla_notice(
    escalation: Escalation,
    ticket: Ticket,
    trigger: str,
    escalations: list[Escalation],
    *,
    now: datetime,
) -> int:
    """E-mail the ticket's owner and the Support leads about an SLA mark, once each."""
    policy = _policy(Subject(ticket=ticket)) or escalation.policy
    decision = channel_decision(policy.sla_notice, _calendar(policy), now)
    if decision is None:
        return 0
    acknowledger = next((e.acknowledged_by for e in escalations if e.acknowledged_by), None)
    owner = ticket.assignee or acknowledger or on_call_at(policy.rotation, now).primary
    people = {person.pk: person for person in [owner, *_leads()] if person is not None}
    written = 0
    for person in people.values():
        page = page_write(
            escalation=escalation,
            key=trigger,
            person=person,
            channel=Message.Channel.EMAIL,
            now=now,
            held_until=decision if decision is not True else None,
        )
        written += page is not None
    return written


# ------------------------------------------------------------------------------
# Acknowledging and stopping
# ------------------------------------------------------------------------------
def escalations_acknowledge(
    *, ticket: Ticket | None = None, incident: Incident | None = None, by: User | None, now
) -> int:
    """Stop paging about the subject: its live escalations are acknowledged by ``by``."""
    live = Escalation.objects.filter(
        **Subject(ticket=ticket, incident=incident).filter(), status__in=LIVE
    ).values_list("pk", flat=True)
    return _finish(
        list(live),
        now=now,
        status=Escalation.Status.ACKNOWLEDGED,
        acknowledged_at=now,
        acknowledged_by=by,
    )


def escalations_stop(
    *, ticket: Ticket | None = None, incident: Incident | None = None, reason: str, now
) -> int:
    """Stop paging about a subject that no longer needs anyone (resolved, closed)."""
    live = Escalation.objects.filter(
        **Subject(ticket=ticket, incident=incident).filter(), status__in=LIVE
    ).values_list("pk", flat=True)
    return _finish(list(live), now=now, status=Escalation.Status.STOPPED, stop_reason=reason)


def _finish(escalation_ids: list[int], *, now: datetime, status: str, **fields) -> int:
    """Move live escalations to a final ``status`` (conditionally); drop what they held back."""
    if not escalation_ids:
        return 0
    if status == Escalation.Status.STOPPED:
        fields["stopped_at"] = now
    finished = Escalation.objects.filter(pk__in=escalation_ids, status__in=LIVE).update(
        status=status, next_position=None, next_step_at=None, **fields
    )
    Page.objects.filter(escalation__in=escalation_ids, status=Page.Status.HELD).update(
        status=Page.Status.DROPPED
    )
    return finished


# ------------------------------------------------------------------------------
# The every-minute job
# ------------------------------------------------------------------------------
def escalations_run(*, now: datetime | None = None, batch: int = 200) -> Counts:
    """Take the steps that came due, then send the digests of quiet hours that ended."""
    now = now or timezone.now()
    summary = Counts()
    while True:
        checkpoint()
        with transaction.atomic():
            due = list(
                Escalation.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("policy__rotation", "policy__calendar", "ticket", "incident")
                .filter(status=Escalation.Status.RUNNING, next_step_at__lte=now)
                .order_by("next_step_at")[:batch]
            )
            for escalation in due:
                summary.add("steps taken", steps_take(escalation, now=now))
        if len(due) < batch:
            break
    summary.add("digests sent", digests_send(now=now))
    return summary


def digests_send(*, now: datetime) -> int:
    """One e-mail per person for what quiet hours held back for them until now."""
    people = (
        Page.objects.filter(status=Page.Status.HELD, held_until__lte=now)
        .values_list("recipient", flat=True)
        .distinct()
        .order_by("recipient")
    )
    sent = 0
    for person_id in list(people):
        checkpoint()
        with transaction.atomic():
            sent += _digest_one(person_id, now=now)
    return sent


def _digest_one(person_id: int, *, now: datetime) -> int:
    held = list(
        Page.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related(
            "recipient",
            "escalation__policy__calendar",
            "escalation__ticket",
            "escalation__incident",
        )
        .filter(recipient_id=person_id, status=Page.Status.HELD, held_until__lte=now)
        .order_by("created_at", "pk")
    )
    live = [p for p in held if p.escalation.status in LIVE and Subject.of(p.escalation).is_open]
    handled = [p.pk for p in held if p not in live]
    Page.objects.filter(pk__in=handled, status=Page.Status.HELD).update(status=Page.Status.DROPPED)
    if not live:
        return 0
    person = live[0].recipient
    ids = [p.pk for p in live]
    if not person.email:
        Page.objects.filter(pk__in=ids, status=Page.Status.HELD).update(
            status=Page.Status.UNREACHABLE
        )
        return 0
    taken = Page.objects.filter(pk__in=ids, status=Page.Status.HELD).update(
        status=Page.Status.DIGESTED, sent_at=now
    )
    if taken != len(ids):
        raise IntegrityError("held pages changed under the digest")  # rolls the digest back
    for page in live:
        page.sent_at = now
    message = digest_queue(person=person, pages=live, now=now)
    Page.objects.filter(pk__in=ids).update(message=message)
    return 1
