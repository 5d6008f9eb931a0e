"""The demo pilot: three Swedish cafés in an active "Swedish café pilot", with a month of feedback.

Idempotent: rows are found by slug and only what is missing is made, through
the same services the admin uses.
"""

import random
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from core.privacy import contact_hash
from pilots import services
from pilots.models import (
    Business,
    Category,
    Enrollment,
    Feedback,
    Payment,
    Pilot,
    QRCode,
    RewardRecipient,
    ScanCount,
)
from pilots.scoring import assess_quality

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
    feedback_created: int


def demo_seed() -> str:
    """The demo pilot, and what ``seed_demo`` says of it."""
    demo = demo_pilot_seed()
    return (
        f"Demo pilot “{demo.pilot.name}” ({demo.pilot.get_status_display().lower()}): "
        + ", ".join(business.name for business in demo.businesses)
        + f"; {demo.codes_issued} new QR code(s), {demo.feedback_created} new feedback."
    )


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
    feedback_created = demo_feedback_seed(pilot=pilot)
    demo_payments_seed(pilot=pilot)
    return DemoPilot(
        pilot=pilot,
        businesses=businesses,
        codes_issued=codes_issued,
        feedback_created=feedback_created,
    )


# ------------------------------------------------------------------------------
# A month of feedback
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CafeProfile:
    daily_feedback: tuple[int, int]
    completion: float  # submissions ÷ scans
    ratings: tuple[int, ...]  # weights of ratings 1..5
    detail: float  # share of comments that are specific
    trial_headroom: int | None  # trial limit = collected + headroom; None: generous


PROFILES = {
    "cafe-aurora": CafeProfile((50, 100), 0.78, (2, 4, 10, 35, 49), 0.9, None),
    "malmo-huset": CafeProfile((30, 60), 0.71, (5, 9, 22, 38, 26), 0.55, None),
    "goteborg-cafe": CafeProfile((40, 80), 0.58, (10, 14, 28, 30, 18), 0.4, 6),
}
DAYS_OF_FEEDBACK = 30
OPENING_HOURS = (7, 18)

SPECIFIC_COMMENTS = {
    "sv": [
        "Kardemummabullen var nybakad och varm, och baristan var jättetrevlig. Kön gick snabbt.",
        "Kaffet var gott men lite för kallt. Personalen var trevlig och borden var rena.",
        "Lång kö vid kassan i morse, nästan tio minuter. Lattén var ändå bra.",
        "Soppan till lunch var smakrik och priset rimligt. Musiken var dock för hög.",
        "Toaletten var smutsig och det saknades papper. Fikat var annars bra.",
        "Trevlig personal som hjälpte oss hitta ett bord. Kanelbullen var lite torr.",
        "Cappuccinon var perfekt och smörgåsen färsk. Bra plats vid fönstret.",
        "Väntade länge på maten fast det var lugnt. Servitören glömde vår beställning.",
    ],
    "en": [
        "The cardamom bun was fresh and warm, and the barista was really friendly. Short queue.",
        "Great coffee but the table by the window was dirty. Staff cleaned it quickly.",
        "Waited fifteen minutes for a latte at the counter. The cake was good though.",
        "Lovely quiet place to work, wifi was fast and the tea was nicely priced.",
        "Music was too loud to talk. The sandwich was fresh and the staff were kind.",
    ],
}
SHORT_COMMENTS = {
    "sv": ["Bra!", "Mysigt ställe", "Helt ok", "Gott kaffe", "Trevligt", "Lite dyrt", ""],
    "en": ["Nice!", "Good coffee", "ok", "Cozy", "A bit pricey", ""],
}
SPAM_COMMENTS = ["aaaaaaaaaaaa", "win money www.example.ru now", "!!!!!!!!!!!!!!!!"]


def _moment(rng: random.Random, day: date, business: Business) -> datetime:
    windows = business.peak_windows
    if windows and rng.random() < 0.6:
        window = rng.choice(windows)
        start = window.starts.hour * 60 + window.starts.minute
        end = window.ends.hour * 60 + window.ends.minute
    else:
        start, end = OPENING_HOURS[0] * 60, OPENING_HOURS[1] * 60
    minute = rng.randrange(start, end)
    zone = zoneinfo.ZoneInfo(business.timezone)
    return datetime.combine(day, time(minute // 60, minute % 60, rng.randrange(60)), tzinfo=zone)


def _comment(rng: random.Random, language: str, profile: CafeProfile) -> str:
    roll = rng.random()
    if roll < 0.01:
        return rng.choice(SPAM_COMMENTS)
    if roll < profile.detail:
        return rng.choice(SPECIFIC_COMMENTS[language])
    return rng.choice(SHORT_COMMENTS[language])


def demo_feedback_seed(*, pilot: Pilot, seed: int = 20261123) -> int:
    """Fill the last month with feedback and scans for the demo cafés; once only."""
    if Feedback.objects.filter(pilot=pilot).exists():
        return 0
    rng = random.Random(seed)  # noqa: S311 - repeatable demo data, not secrets
    today = timezone.localdate()
    created = 0
    enrollments = pilot.enrollments.filter(status=Enrollment.Status.ACTIVE).select_related(
        "business"
    )
    for enrollment in enrollments:
        business = enrollment.business
        profile = PROFILES.get(business.slug)
        codes = list(business.qr_codes.filter(status=QRCode.Status.ACTIVE))
        if profile is None or not codes:
            continue
        rows, scans = [], []
        for back in range(DAYS_OF_FEEDBACK, 0, -1):
            day = today - timedelta(days=back)
            count = rng.randint(*profile.daily_feedback)
            per_code = dict.fromkeys(codes, 0)
            for _ in range(count):
                code = rng.choice(codes)
                per_code[code] += 1
                rows.append(_demo_feedback(rng, enrollment, code, profile, day))
            for code, submitted in per_code.items():
                scans.append(
                    ScanCount(
                        qr_code=code,
                        business=business,
                        pilot=pilot,
                        day=day,
                        scans=round(submitted / profile.completion),
                    )
                )
        Feedback.objects.bulk_create(rows, batch_size=1000)
        ScanCount.objects.bulk_create(scans, batch_size=1000)
        collected = sum(1 for row in rows if row.status != Feedback.Status.SPAM)
        Enrollment.objects.filter(pk=enrollment.pk).update(feedback_count=collected)
        trial_limit = (
            collected + profile.trial_headroom
            if profile.trial_headroom is not None
            else max(enrollment.trial_limit, round(collected * 1.5, -2))
        )
        services.enrollment_trial_limit_set(enrollment=enrollment, trial_limit=trial_limit)
        created += len(rows)
    return created


def _demo_feedback(
    rng: random.Random, enrollment: Enrollment, code: QRCode, profile: CafeProfile, day: date
) -> Feedback:
    pilot = enrollment.pilot
    language = "sv" if rng.random() < 0.8 else "en"
    rating = rng.choices(range(1, 6), weights=profile.ratings)[0]
    categories = rng.sample(Category.values, k=rng.choice((0, 1, 1, 2, 3)))
    comment = _comment(rng, language, profile)
    assessment = assess_quality(rating=rating, categories=categories, comment=comment)
    wants_reward = rng.random() < 0.4
    status = Feedback.Status.SPAM if assessment.is_spam else Feedback.Status.ACCEPTED
    submitted_at = _moment(rng, day, enrollment.business)
    feedback = Feedback(
        business=enrollment.business,
        pilot=pilot,
        enrollment=enrollment,
        qr_code=code,
        rating=rating,
        categories=categories,
        comment=comment,
        language=language,
        quality_score=assessment.score,
        contact_email=f"guest{rng.randrange(10**6)}@example.se" if wants_reward else "",
        consent_at=submitted_at if wants_reward else None,
        status=status,
        client_hash=f"{rng.getrandbits(256):064x}",
        submitted_at=submitted_at,
    )
    feedback.reward_eligible = feedback.qualifies_for_reward()
    return feedback


def demo_payments_seed(*, pilot: Pilot, seed: int = 20261124) -> int:
    """Payments for the demo month's eligible feedback: most paid, some waiting, a few failed.

    Demo payments never went through Stripe; paid ones say so in their manual reason.
    """
    if Payment.objects.filter(pilot=pilot).exists():
        return 0
    rng = random.Random(seed)  # noqa: S311 - repeatable demo data, not secrets
    eligible = list(
        Feedback.objects.filter(pilot=pilot, reward_eligible=True, payment__isnull=True)
    )
    recipients = {}
    for feedback in eligible:
        key = contact_hash(feedback.contact_email or feedback.contact_phone)
        recipients.setdefault(
            key,
            RewardRecipient(
                contact_hash=key,
                contact_email=feedback.contact_email,
                contact_phone=feedback.contact_phone,
            ),
        )
    RewardRecipient.objects.bulk_create(recipients.values(), ignore_conflicts=True)
    by_hash = {
        r.contact_hash: r for r in RewardRecipient.objects.filter(contact_hash__in=recipients)
    }
    recent = timezone.now() - timedelta(days=2)
    rows = []
    for feedback in eligible:
        roll = rng.random()
        paid = feedback.submitted_at < recent and roll > 0.03
        failed = feedback.submitted_at < recent and not paid
        rows.append(
            Payment(
                feedback=feedback,
                recipient=by_hash[contact_hash(feedback.contact_email or feedback.contact_phone)],
                business_id=feedback.business_id,
                pilot=pilot,
                client_hash=feedback.client_hash,
                amount=pilot.reward_amount,
                currency=pilot.reward_currency,
                status=Payment.Status.PAID
                if paid
                else Payment.Status.FAILED
                if failed
                else Payment.Status.PENDING,
                paid_at=feedback.submitted_at + timedelta(days=1) if paid else None,
                manual_reason="Demo data: paid before the demo began" if paid else "",
                last_error="Demo data: the destination account was restricted" if failed else "",
                attempts=1 if paid or failed else 0,
            )
        )
    Payment.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
