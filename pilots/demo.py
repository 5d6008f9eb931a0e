"""The demo pilot: three Swedish cafés in an active "Swedish café pilot".

Idempotent: rows are found by slug and only what is missing is made, through
the same services the admin uses.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from pilots import services
from pilots.models import Business, Enrollment, Pilot, QRCode

PILOT_SLUG = "swedish-cafe-pilot"
PLACEMENTS = ("Table 1", "Table 2", "Table 3", "Table 4", "Counter")

CAFES = (
    {
        "slug": "cafe-aurora",
        "name": "Café Aurora",
        "city": "Stockholm",
        "address": "Götgatan 12, 116 46 Stockholm",
        "expected_daily_customers": 700,
        "peak_hours": "07:00-09:00, 12:00-14:00",
        "context": "Busy commuter café by Medborgarplatsen: 14 tables, counter service, "
        "3-4 baristas. Known for cardamom buns. Expect 50-100 feedback submissions a day.",
    },
    {
        "slug": "malmo-huset",
        "name": "Malmö Huset",
        "city": "Malmö",
        "address": "Södergatan 5, 211 34 Malmö",
        "expected_daily_customers": 450,
        "peak_hours": "08:00-10:00, 14:00-16:00",
        "context": "Two floors near Stortorget, table service upstairs, 2-3 staff. "
        "Lunch soups and fika. Expect 30-60 feedback submissions a day.",
    },
    {
        "slug": "goteborg-cafe",
        "name": "Göteborg Café",
        "city": "Göteborg",
        "address": "Vasagatan 22, 411 24 Göteborg",
        "expected_daily_customers": 600,
        "peak_hours": "07:30-09:30, 13:00-15:00",
        "context": "Student-heavy café on Vasagatan with long tables and a takeaway "
        "window, 3 staff. Expect 40-80 feedback submissions a day.",
    },
)


@dataclass(frozen=True)
class DemoPilot:
    pilot: Pilot
    businesses: list[Business]
    codes_issued: int


@transaction.atomic
def demo_pilot_seed() -> DemoPilot:
    today = timezone.localdate()
    pilot, _ = Pilot.objects.get_or_create(
        slug=PILOT_SLUG,
        defaults={
            "name": "Swedish café pilot",
            "starts_on": today - timedelta(days=30),
            "ends_on": today + timedelta(days=30),
            "reward_amount": 1000,
            "reward_currency": "SEK",
            "reward_threshold": 60,
            "default_trial_limit": 100,
        },
    )
    if pilot.status == Pilot.Status.DRAFT:
        pilot = services.pilot_activate(pilot=pilot)

    businesses, codes_issued = [], 0
    for cafe in CAFES:
        business, _ = Business.objects.get_or_create(
            slug=cafe["slug"], defaults={**cafe, "status": Business.Status.ACTIVE}
        )
        businesses.append(business)
        enrolled = Enrollment.objects.filter(
            business=business, status=Enrollment.Status.ACTIVE
        ).exists()
        if not enrolled and pilot.status == Pilot.Status.ACTIVE:
            services.enrollment_create(pilot=pilot, business=business)
        placed = set(
            business.qr_codes.filter(status=QRCode.Status.ACTIVE).values_list(
                "placement", flat=True
            )
        )
        missing = [placement for placement in PLACEMENTS if placement not in placed]
        if missing:
            codes_issued += len(services.qr_codes_generate(business=business, placements=missing))
    return DemoPilot(pilot=pilot, businesses=businesses, codes_issued=codes_issued)
