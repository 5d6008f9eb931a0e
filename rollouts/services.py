"""Every state change of flags and rollouts.

Each change of a flag writes a history event on it (who, from → to, why)
and drops the cached rules once it commits. A rollout moves only by
conditional updates from the stage and status its reader saw, so two runs
of the rollout job at once promote or roll back once.

Rolling back turns the flag off (0 %), records why, opens an incident (or
adds to the one an alert opened) and e-mails the Pilot managers.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from core import flags, roles
from core.outbox import email_queue, text_render
from core.selectors import staff_emails_by_language
from core.services import Actor, event_record
from pilots.maintenance import Counts
from pilots.models import Business, Tag
from rollouts.guards import BREACHED, guards_read
from rollouts.models import Flag, Rollout
from rollouts.selectors import flag_cohorts, snapshot_words
from support.incidents import incident_declare, incident_post_update
from support.models import Incident, Severity

ROLLBACK_PURPOSE = "rollout_rolled_back"
ROLLBACK_SEVERITY = Severity.SEV3


class FlagError(ValidationError):
    """A flag change that cannot be made."""


def _snapshot(flag: Flag) -> dict:
    return {
        "state": flag.state,
        "percentage": flag.percentage,
        "tags": sorted(tag.name for tag in flag.tags.all()),
    }


def snapshot_text(snapshot: dict) -> str:
    """A flag's settings in words: "off", "canary 10 % of beta", "on for every business"…"""
    audience = ", ".join(snapshot["tags"]) if snapshot["tags"] else "every business"
    if snapshot["state"] == flags.OFF:
        return f"off (targets {audience})" if snapshot["tags"] else "off"
    if snapshot["state"] == flags.ON:
        return f"on for {audience}"
    return f"canary {snapshot['percentage']} % of {audience}"


def _flag_set(
    flag: Flag,
    *,
    reason: str,
    action: str,
    actor: Actor = None,
    state: str | None = None,
    percentage: int | None = None,
    tags: Iterable[Tag] | None = None,
) -> Flag:
    locked = Flag.objects.select_for_update().get(pk=flag.pk)
    before = _snapshot(locked)
    locked.state = state if state is not None else locked.state
    locked.percentage = percentage if percentage is not None else locked.percentage
    locked.full_clean()
    locked.save()
    if tags is not None:
        locked.tags.set(tags)
    after = _snapshot(locked)
    if after != before:
        event_record(
            subject=locked,
            action=action,
            message=f"{snapshot_text(before)} → {snapshot_text(after)}: {reason}"[:500],
            actor=actor,
            data={"from": before, "to": after, "reason": reason},
        )
        transaction.on_commit(flags.rules_invalidate)
    return locked


@transaction.atomic
def flag_create(
    *, name: str, description: str = "", tags: Iterable[Tag] = (), actor: Actor = None
) -> Flag:
    """A new flag, off."""
    flag = Flag(name=name, description=description)
    flag.full_clean()
    flag.save()
    flag.tags.set(tags)
    event_record(subject=flag, action="flag_created", message="Created, off.", actor=actor)
    transaction.on_commit(flags.rules_invalidate)
    return flag


@transaction.atomic
def flag_change(
    *,
    flag: Flag,
    reason: str,
    actor: Actor = None,
    state: str | None = None,
    percentage: int | None = None,
    tags: Iterable[Tag] | None = None,
    description: str | None = None,
) -> Flag:
    """Change a flag by hand, saying why; a flag under a running rollout is the rollout's."""
    if not reason.strip():
        raise FlagError("Say why the flag changes: it goes into its history.")
    if Rollout.objects.filter(flag=flag, status=Rollout.Status.RUNNING).exists() and (
        state is not None or percentage is not None or tags is not None
    ):
        raise FlagError(
            f"{flag.name} is being rolled out: roll it back, or let the rollout finish, first."
        )
    if description is not None and description != flag.description:
        Flag.objects.filter(pk=flag.pk).update(description=description)
    return _flag_set(
        flag,
        reason=reason.strip(),
        action="flag_changed",
        actor=actor,
        state=state,
        percentage=percentage,
        tags=tags,
    )


# ------------------------------------------------------------------------------
# Rollouts
# ------------------------------------------------------------------------------
@transaction.atomic
def rollout_start(
    *,
    flag: Flag,
    stages: list[dict],
    actor: Actor = None,
    now: datetime | None = None,
    **guards,
) -> Rollout:
    """Start rolling ``flag`` out: canary at the first stage's percentage of its audience."""
    now = now or timezone.now()
    rollout = Rollout(
        flag=flag, stages=stages, stage=0, stage_started_at=now, started_by=actor, **guards
    )
    rollout.full_clean()
    rollout.save()
    _flag_set(
        flag,
        reason=f"Rollout started: {rollout.plan_text}.",
        action="rollout_started",
        actor=actor,
        state=Flag.State.CANARY,
        percentage=stages[0]["percentage"],
    )
    return rollout


def _soak_text(rollout: Rollout) -> str:
    minutes = rollout.current_stage["soak_minutes"]
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


@transaction.atomic
def _rollout_promote(rollout: Rollout, *, now: datetime) -> str:
    """Move to the next stage, or complete at the last; "" when another run got there first."""
    percentage = rollout.current_stage["percentage"]
    reason = f"every guard green for {_soak_text(rollout)} at {percentage} %"
    current = Rollout.objects.filter(
        pk=rollout.pk, status=Rollout.Status.RUNNING, stage=rollout.stage
    )
    if rollout.is_last_stage:
        if not current.update(status=Rollout.Status.COMPLETED, finished_at=now):
            return ""
        _flag_set(
            rollout.flag,
            reason=f"Rollout completed: {reason}.",
            action="rollout_completed",
            state=Flag.State.ON if percentage == 100 else Flag.State.CANARY,
        )
        return "completed"
    if not current.update(stage=rollout.stage + 1, stage_started_at=now):
        return ""
    _flag_set(
        rollout.flag,
        reason=f"Promoted: {reason}.",
        action="rollout_promoted",
        percentage=rollout.stages[rollout.stage + 1]["percentage"],
    )
    return "promoted"


def rollouts_check(*, now: datetime | None = None) -> Counts:
    """Judge every running rollout: roll back on a breach, promote after a green soak."""
    now = now or timezone.now()
    summary = Counts()
    for rollout in Rollout.objects.filter(status=Rollout.Status.RUNNING).select_related("flag"):
        readings = guards_read(rollout, now=now)
        breached = [reading for reading in readings if reading.verdict == BREACHED]
        if breached:
            reason = "; ".join(f"{r.describe()} breached" for r in breached)
            if flag_roll_back(flag=rollout.flag, reason=reason, now=now):
                summary.add("rolled back")
            continue
        soaked = now - rollout.stage_started_at >= rollout.soak
        if soaked and all(reading.allows_promotion for reading in readings):
            outcome = _rollout_promote(rollout, now=now)
            if outcome:
                summary.add(outcome)
            continue
        summary.add("soaking" if not soaked else "waiting for traffic")
    return summary


# ------------------------------------------------------------------------------
# Rolling back
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RolledBack:
    flag: Flag
    snapshot: dict  # the flag's settings before
    businesses: list[Business]  # those it was on for
    rollout: Rollout | None

    @property
    def was(self) -> str:
        """The flag's settings before, in words of the active language."""
        return snapshot_words(self.snapshot)


def _flag_off(flag: Flag, *, reason: str, actor: Actor, now: datetime) -> RolledBack | None:
    locked = Flag.objects.select_for_update().get(pk=flag.pk)
    running = Rollout.objects.filter(flag=locked, status=Rollout.Status.RUNNING).first()
    if locked.state == Flag.State.OFF and running is None:
        return None
    was = _snapshot(locked)
    businesses = flag_cohorts(locked).inside
    if running is not None:
        Rollout.objects.filter(pk=running.pk, status=Rollout.Status.RUNNING).update(
            status=Rollout.Status.ROLLED_BACK, finished_at=now, reason=reason[:2000]
        )
    _flag_set(
        locked,
        reason=f"Rolled back: {reason}",
        action="rolled_back",
        actor=actor,
        state=Flag.State.OFF,
        percentage=0,
    )
    return RolledBack(flag=locked, snapshot=was, businesses=businesses, rollout=running)


def _rollback_notice(
    rolled: list[RolledBack], *, reason: str, actor: Actor, incident: Incident | None
) -> Incident:
    """One incident (or an update on the alert's) and one e-mail to the Pilot managers."""
    names = ", ".join(item.flag.name for item in rolled)
    forced_on = [item.flag.name for item in rolled if flags.override(item.flag.name)]
    context = {"rolled": rolled, "reason": reason, "actor": actor, "forced_on": forced_on}
    with translation.override(settings.LANGUAGE_CODE):  # the incident's timeline: one language
        body = text_render("rollouts/rolled_back.txt", context)
    if incident is None:
        businesses = {b.pk: b for item in rolled for b in item.businesses}
        incident = incident_declare(
            title=f"Rolled back: {names}"[:200],
            severity=ROLLBACK_SEVERITY,
            businesses=list(businesses.values()),
            body=body,
            actor=actor,
        )
    else:
        incident_post_update(incident=incident, body=body, actor=actor)
    Rollout.objects.filter(pk__in=[item.rollout.pk for item in rolled if item.rollout]).update(
        incident=incident
    )
    context["incident"] = incident
    # Each Pilot manager reads it in the language they chose for the back office.
    for language, recipients in staff_emails_by_language(roles.PILOT_MANAGERS).items():
        with translation.override(language):
            email_queue(
                to=recipients,
                subject=(gettext("Pilot Ops: %(names)s rolled back") % {"names": names})[:255],
                body=text_render("rollouts/rolled_back.txt", context),
                purpose=ROLLBACK_PURPOSE,
            )
    return incident


@transaction.atomic
def flag_roll_back(
    *,
    flag: Flag,
    reason: str,
    actor: Actor = None,
    incident: Incident | None = None,
    now: datetime | None = None,
) -> Incident | None:
    """Turn ``flag`` off and stop its rollout, once: None when there was nothing to roll back.

    ``incident``: the one an alert already opened, which gets the news as an
    update instead of a second incident.
    """
    rolled = _flag_off(flag, reason=reason, actor=actor, now=now or timezone.now())
    if rolled is None:
        return None
    return _rollback_notice([rolled], reason=reason, actor=actor, incident=incident)


@transaction.atomic
def flags_roll_back_all(*, reason: str, actor: Actor = None) -> list[Flag]:
    """The emergency: every flag off and every rollout stopped, in one incident and one e-mail."""
    if not reason.strip():
        raise FlagError("Say why everything is rolled back.")
    now = timezone.now()
    rolled = [
        item
        for flag in Flag.objects.order_by("name")
        if (item := _flag_off(flag, reason=reason.strip(), actor=actor, now=now)) is not None
    ]
    if rolled:
        _rollback_notice(rolled, reason=reason.strip(), actor=actor, incident=None)
    return [item.flag for item in rolled]


def feature_alert_roll_back(*, feature: str, alert_name: str, incident: Incident) -> None:
    """A firing alert labelled ``feature="<name>"``: roll the flag back, on the alert's incident."""
    if not re.fullmatch(flags.NAME_PATTERN, feature):
        return  # no flag is called that
    flag = Flag.objects.filter(name=feature).first()
    if flag is not None:
        flag_roll_back(flag=flag, reason=f"alert {alert_name} firing", incident=incident)
