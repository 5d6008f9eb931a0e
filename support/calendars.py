"""The seeded calendars and policies of DESIGN.md, made idempotently."""

from datetime import date, time

from django.db import transaction
from django.db.models import Q

from support.models import OpeningWindow, Priority, SLAPolicy, SupportCalendar

ALWAYS = "24/7"
BUSINESS_HOURS = "Business hours (Stockholm)"

# priority: (first response minutes, resolution minutes, calendar)
DEFAULT_POLICIES = {
    Priority.P0: (15, 4 * 60, ALWAYS),
    Priority.P1: (2 * 60, 24 * 60, ALWAYS),
    Priority.P2: (10 * 60, 50 * 60, BUSINESS_HOURS),
    Priority.P3: (50 * 60, 200 * 60, BUSINESS_HOURS),
}


@transaction.atomic
def default_policies_ensure(
    *, calendar_model=SupportCalendar, window_model=OpeningWindow, policy_model=SLAPolicy
) -> None:
    """24/7 and Mon-Fri 08:00-18:00 Stockholm with Swedish holidays; P0-P3 on them.

    Takes the model classes so that the data migration can pass historical ones.
    """
    always, made = calendar_model.objects.get_or_create(
        name=ALWAYS, defaults={"timezone": "Europe/Stockholm"}
    )
    if made:
        window_model.objects.bulk_create(
            window_model(calendar=always, weekday=day, opens=time(0), minutes=24 * 60)
            for day in range(7)
        )
    office, made = calendar_model.objects.get_or_create(
        name=BUSINESS_HOURS, defaults={"timezone": "Europe/Stockholm", "holiday_country": "SE"}
    )
    if made:
        window_model.objects.bulk_create(
            window_model(calendar=office, weekday=day, opens=time(8), minutes=10 * 60)
            for day in range(5)
        )
    calendars = {ALWAYS: always, BUSINESS_HOURS: office}
    for priority, (respond, resolve, calendar) in DEFAULT_POLICIES.items():
        policy_model.objects.get_or_create(
            priority=priority,
            defaults={
                "first_response_minutes": respond,
                "resolution_minutes": resolve,
                "calendar": calendars[calendar],
            },
        )


def default_policies_in_migration(apps, schema_editor) -> None:
    default_policies_ensure(
        calendar_model=apps.get_model("support", "SupportCalendar"),
        window_model=apps.get_model("support", "OpeningWindow"),
        policy_model=apps.get_model("support", "SLAPolicy"),
    )


# ------------------------------------------------------------------------------
# On call: the seeded rotation and escalation policies (the runbooks)
# ------------------------------------------------------------------------------
ON_CALL_ROTATION = "Support on call"
ALWAYS_RULE, OUT_OF_HOURS_RULE, IN_HOURS_RULE = "always", "out_of_hours", "in_hours"
# P2 and P3: e-mail to the primary and the ticket's assignee, in business hours only.
OFFICE_HOURS_STEPS = [
    (0, "primary", IN_HOURS_RULE, "never", "never"),
    (0, "owner", IN_HOURS_RULE, "never", "never"),
]

# name: (priority, severity, SLA notice hours, steps as (delay minutes, target, e-mail, Slack, SMS))
DEFAULT_ESCALATION_POLICIES = {
    "Critical (P0 / SEV1)": (
        Priority.P0,
        "SEV1",
        ALWAYS_RULE,
        [
            (0, "primary", "never", ALWAYS_RULE, ALWAYS_RULE),
            (5, "secondary", "never", ALWAYS_RULE, ALWAYS_RULE),
            (15, "leads", "never", ALWAYS_RULE, ALWAYS_RULE),
        ],
    ),
    "High (P1 / SEV2)": (
        Priority.P1,
        "SEV2",
        ALWAYS_RULE,
        [(0, "primary", ALWAYS_RULE, ALWAYS_RULE, OUT_OF_HOURS_RULE)],
    ),
    "Medium (P2 / SEV3)": (Priority.P2, "SEV3", IN_HOURS_RULE, OFFICE_HOURS_STEPS),
    "Low (P3 / SEV4)": (Priority.P3, "SEV4", IN_HOURS_RULE, OFFICE_HOURS_STEPS),
}


def default_escalation_policies_ensure(
    *, calendar_model, rotation_model, policy_model, step_model
) -> None:
    """A weekly rotation handing over on Mondays at 09:00 (members added in the admin) and
    the runbooks' policies on the business-hours calendar; what exists is left alone."""
    rotation, _ = rotation_model.objects.get_or_create(
        name=ON_CALL_ROTATION,
        defaults={
            "timezone": "Europe/Stockholm",
            "handoff_weekday": 0,
            "handoff_time": time(9),
            "starts_on": date(2026, 1, 5),
        },
    )
    office = calendar_model.objects.get(name=BUSINESS_HOURS)
    for name, (priority, severity, sla_notice, steps) in DEFAULT_ESCALATION_POLICIES.items():
        if policy_model.objects.filter(Q(priority=priority) | Q(severity=severity)).exists():
            continue
        policy = policy_model.objects.create(
            name=name,
            priority=priority,
            severity=severity,
            rotation=rotation,
            calendar=office,
            sla_notice=sla_notice,
        )
        step_model.objects.bulk_create(
            step_model(
                policy=policy,
                position=position,
                delay_minutes=delay,
                target=target,
                email=email,
                slack=slack,
                sms=sms,
            )
            for position, (delay, target, email, slack, sms) in enumerate(steps, start=1)
        )


def default_escalation_policies_in_migration(apps, schema_editor) -> None:
    default_escalation_policies_ensure(
        calendar_model=apps.get_model("support", "SupportCalendar"),
        rotation_model=apps.get_model("support", "Rotation"),
        policy_model=apps.get_model("support", "EscalationPolicy"),
        step_model=apps.get_model("support", "EscalationStep"),
    )
