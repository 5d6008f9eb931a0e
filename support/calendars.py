"""The seeded calendars and policies of DESIGN.md, made idempotently."""

from datetime import time

from django.db import transaction

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
