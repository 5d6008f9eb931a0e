"""Read paths of the rollouts part: the flags' rules, who is in a flag, the panel's figures."""

from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext

from core import flags
from core.flags import FlagRule, Tenant
from core.models import Event
from pilots.features import businesses_with_tenants
from pilots.models import Business, Tag
from rollouts.models import Flag, Rollout


def flag_rules() -> dict[str, FlagRule]:
    """Every stored flag's rule, in one query (the loader core.flags caches)."""
    rows = Flag.objects.values_list("name", "state", "percentage", "tags__name").order_by()
    tags: dict[str, set[str]] = {}
    head: dict[str, tuple[str, int]] = {}
    for name, state, percentage, tag in rows:
        head[name] = (state, percentage)
        tags.setdefault(name, set())
        if tag:
            tags[name].add(tag)
    return {
        name: FlagRule(name=name, state=state, tags=frozenset(tags[name]), percentage=percentage)
        for name, (state, percentage) in head.items()
    }


def flag_rule(flag: Flag) -> FlagRule:
    return FlagRule(
        name=flag.name,
        state=flag.state,
        tags=frozenset(tag.name for tag in flag.tags.all()),
        percentage=flag.percentage,
    )


def tenant_has_flag(flag_name: str, rule: FlagRule, tenant: Tenant) -> bool:
    """What a check of ``flag_name`` answers for ``tenant`` under ``rule`` and the environment."""
    forced = flags.override(flag_name)
    return forced if forced is not None else flags.rule_admits(rule, tenant)


@dataclass(frozen=True)
class Cohorts:
    """The businesses a flag is on for, and the rest."""

    inside: list[Business]
    outside: list[Business]


def flag_cohorts(flag: Flag) -> Cohorts:
    rule = flag_rule(flag)
    inside, outside = [], []
    for business, tenant in businesses_with_tenants():
        (inside if tenant_has_flag(flag.name, rule, tenant) else outside).append(business)
    return Cohorts(inside=inside, outside=outside)


@dataclass(frozen=True)
class TagCell:
    tag: str
    inside: int
    total: int


@dataclass(frozen=True)
class FlagRow:
    """One row of the flag × tag panel."""

    flag: Flag
    rollout: Rollout | None
    override: bool | None
    cells: list[TagCell]
    inside: list[Business]
    audience: int


def panel_rows() -> tuple[list[str], list[FlagRow]]:
    """The tags (columns) and, per flag, its businesses per tag: a fixed number of queries."""
    tag_names = list(Tag.objects.order_by("name").values_list("name", flat=True))
    tenants = businesses_with_tenants()
    running = {
        rollout.flag_id: rollout
        for rollout in Rollout.objects.filter(status=Rollout.Status.RUNNING)
    }
    rows = []
    for flag in Flag.objects.prefetch_related("tags").order_by("name"):
        rule = flag_rule(flag)
        inside = [b for b, t in tenants if tenant_has_flag(flag.name, rule, t)]
        cells = []
        for tag in tag_names:
            tagged = [(b, t) for b, t in tenants if tag in t.tags]
            cells.append(
                TagCell(
                    tag=tag,
                    inside=sum(1 for b, t in tagged if tenant_has_flag(flag.name, rule, t)),
                    total=len(tagged),
                )
            )
        rows.append(
            FlagRow(
                flag=flag,
                rollout=running.get(flag.pk),
                override=flags.override(flag.name),
                cells=cells,
                inside=inside,
                audience=sum(1 for _, t in tenants if flags.in_audience(rule, t)),
            )
        )
    return tag_names, rows


def flag_history(flag: Flag | None, *, limit: int = 50) -> list[Event]:
    """The newest changes of ``flag`` (None: of every flag), each with the flag it changed."""
    events = Event.objects.filter(subject_type=ContentType.objects.get_for_model(Flag))
    if flag is not None:
        events = events.filter(subject_id=flag.pk)
    newest = list(events.select_related("actor").order_by("-created_at", "-id")[:limit])
    names = dict(
        Flag.objects.filter(pk__in={e.subject_id for e in newest}).values_list("pk", "name")
    )
    for event in newest:
        event.flag_name = names.get(event.subject_id, "")
        event.text = flag_event_text(event)
    return newest


def snapshot_words(snapshot: dict) -> str:
    """``snapshot_text`` in the active language, for a message to a person (not the history)."""
    audience = ", ".join(snapshot["tags"]) if snapshot["tags"] else gettext("every business")
    if snapshot["state"] == flags.OFF:
        if snapshot["tags"]:
            return gettext("off (targets %(audience)s)") % {"audience": audience}
        return gettext("off")
    if snapshot["state"] == flags.ON:
        return gettext("on for %(audience)s") % {"audience": audience}
    return gettext("canary %(percentage)s %% of %(audience)s") % {
        "percentage": snapshot["percentage"],
        "audience": audience,
    }


def flag_event_text(event) -> str:
    """A flag's history entry in the reader's language, from what the event recorded.

    The settings before and after are put in words now; the reason stays as it
    was written (by a person, or by the rollout job).
    """
    data = event.data or {}
    if event.action == "flag_created":
        return gettext("Created, off.")
    if "from" in data and "to" in data:
        return gettext("%(before)s → %(after)s: %(reason)s") % {
            "before": snapshot_words(data["from"]),
            "after": snapshot_words(data["to"]),
            "reason": data.get("reason", ""),
        }
    return event.message
