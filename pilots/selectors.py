"""Read paths of the pilots part."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Count,
    Q,
    QuerySet,
    Sum,
    prefetch_related_objects,
)
from django.utils import timezone

from pilots.models import (
    Business,
    Enrollment,
    Feedback,
    IntakeSwitch,
    Payment,
    Pilot,
    ProbeRun,
    QRCode,
    ScanCount,
)
from pilots.qr import qr_png_data_uri


@dataclass(frozen=True)
class TableCard:
    """What one printed table card shows."""

    business_name: str
    placement: str
    url: str
    image_uri: str


def business_active_enrollment(business: Business) -> Enrollment | None:
    """The enrollment ``business`` is active in, if any (there is at most one)."""
    return (
        Enrollment.objects.filter(business=business, status=Enrollment.Status.ACTIVE)
        .select_related("pilot")
        .first()
    )


def qr_codes_active(
    *, ids: list[int] | None = None, business: Business | None = None
) -> QuerySet[QRCode]:
    """Active codes among ``ids`` and/or of ``business``, in print order."""
    codes = QRCode.objects.filter(status=QRCode.Status.ACTIVE).select_related("business")
    if ids is not None:
        codes = codes.filter(pk__in=ids)
    if business is not None:
        codes = codes.filter(business=business)
    return codes.order_by("business__name", "placement", "pk")


def table_cards(codes: QuerySet[QRCode]) -> list[TableCard]:
    return [
        TableCard(
            business_name=code.business.name,
            placement=code.placement,
            url=code.public_url,
            image_uri=qr_png_data_uri(code.public_url),
        )
        for code in codes
    ]


# ------------------------------------------------------------------------------
# Feedback intake
# ------------------------------------------------------------------------------
class Intake(StrEnum):
    """Whether a printed code takes feedback right now, and if not, why."""

    OPEN = "open"
    UNKNOWN_CODE = "unknown_code"
    REVOKED = "revoked"
    MAINTENANCE = "maintenance"
    BUSINESS_PAUSED = "business_paused"
    BUSINESS_CLOSED = "business_closed"
    PILOT_PAUSED = "pilot_paused"
    NOT_STARTED = "not_started"
    ENDED = "ended"
    FULL = "full"


PAUSE_RETRY_AFTER_SECONDS = 3600


@dataclass(frozen=True)
class IntakeState:
    intake: Intake
    qr_code: QRCode | None = None
    enrollment: Enrollment | None = None  # the enrollment feedback counts for, if any
    retry_after_seconds: int | None = None
    message: str = ""  # the operator's words while intake is switched off

    @property
    def is_open(self) -> bool:
        return self.intake is Intake.OPEN

    @property
    def pilot(self) -> Pilot | None:
        return self.enrollment.pilot if self.enrollment else None


def qr_code_by_token(token: str) -> QRCode | None:
    return QRCode.objects.select_related("business").filter(token=token).first()


def intake_switch() -> IntakeSwitch:
    return IntakeSwitch.objects.filter(pk=IntakeSwitch.SINGLETON_ID).first() or IntakeSwitch()


def _pilot_intake(pilot: Pilot, today: date) -> Intake:
    if pilot.status == Pilot.Status.PAUSED:
        return Intake.PILOT_PAUSED
    if pilot.status in (Pilot.Status.COMPLETED, Pilot.Status.CANCELLED) or today > pilot.ends_on:
        return Intake.ENDED
    if pilot.status == Pilot.Status.DRAFT or today < pilot.starts_on:
        return Intake.NOT_STARTED
    return Intake.OPEN


@dataclass(frozen=True)
class IntakeFacts:
    """The rows that decide what a code's form shows: the code with its business, the
    intake switch, and the business's latest enrollment with its pilot."""

    qr_code: QRCode | None
    switch: IntakeSwitch
    latest: Enrollment | None


def intake_facts(qr_code: QRCode | None) -> IntakeFacts:
    """Read the facts of ``qr_code`` from the database (three queries)."""
    latest = None
    if qr_code is not None:
        prefetch_related_objects([qr_code.business], "tags")  # for its feature flags
        latest = (
            Enrollment.objects.filter(business=qr_code.business_id)
            .exclude(status=Enrollment.Status.WITHDRAWN)
            .select_related("pilot")
            .order_by("-created_at", "-pk")
            .first()
        )
    return IntakeFacts(qr_code=qr_code, switch=intake_switch(), latest=latest)


INTAKE_FACTS_GENERATION = "intake-facts:generation"


def intake_facts_by_token(token: str) -> IntakeFacts:
    """The facts behind ``token``, reused for INTAKE_FACTS_CACHE_SECONDS: the form's read path.

    One cache round trip on a hit. Every service that changes one of these
    rows calls ``intake_facts_invalidate``, which moves a generation number
    that cached facts carry; facts of an older generation are read again.
    """
    key = "intake-facts:" + hashlib.sha256(token.encode()).hexdigest()
    cached = cache.get_many([key, INTAKE_FACTS_GENERATION])
    generation = cached.get(INTAKE_FACTS_GENERATION, 0)
    entry = cached.get(key)
    if entry is not None and entry[0] == generation:
        return entry[1]
    facts = intake_facts(qr_code_by_token(token))
    cache.set(key, (generation, facts), timeout=settings.INTAKE_FACTS_CACHE_SECONDS)
    return facts


def intake_facts_invalidate() -> None:
    """Make every cached code's facts stale (a code, business, pilot, enrollment or the
    switch changed); called by the services that change them."""
    if not cache.add(INTAKE_FACTS_GENERATION, 1, timeout=None):
        try:
            cache.incr(INTAKE_FACTS_GENERATION)
        except ValueError:  # evicted between the two calls
            cache.add(INTAKE_FACTS_GENERATION, 1, timeout=None)


def intake_state(qr_code: QRCode | None, *, today: date | None = None) -> IntakeState:
    """What the form behind ``qr_code`` shows, from the database (see ``intake_decide``)."""
    return intake_decide(intake_facts(qr_code), today=today)


def intake_decide(facts: IntakeFacts, *, today: date | None = None) -> IntakeState:
    """Decide what the form behind a code shows.

    A business with an active enrollment takes feedback for that pilot while
    the pilot runs and the trial limit allows. One whose last enrollment was
    closed (pilot over, or trial limit reached) says so until it is enrolled
    again. One never enrolled, or withdrawn, takes feedback without a reward.
    """
    qr_code = facts.qr_code
    if qr_code is None:
        return IntakeState(Intake.UNKNOWN_CODE)
    if qr_code.status == QRCode.Status.REVOKED:
        return IntakeState(Intake.REVOKED, qr_code)
    switch = facts.switch
    if not switch.is_open:
        return IntakeState(
            Intake.MAINTENANCE,
            qr_code,
            retry_after_seconds=switch.retry_after_minutes * 60,
            message=switch.message,
        )
    business = qr_code.business
    if business.status == Business.Status.PAUSED:
        return IntakeState(
            Intake.BUSINESS_PAUSED, qr_code, retry_after_seconds=PAUSE_RETRY_AFTER_SECONDS
        )
    if business.status == Business.Status.CHURNED:
        return IntakeState(Intake.BUSINESS_CLOSED, qr_code)

    today = today or timezone.localdate()
    latest = facts.latest
    if latest is None:
        return IntakeState(Intake.OPEN, qr_code)
    intake = _pilot_intake(latest.pilot, today)
    if intake is Intake.PILOT_PAUSED:
        return IntakeState(intake, qr_code, latest, retry_after_seconds=PAUSE_RETRY_AFTER_SECONDS)
    if intake is not Intake.OPEN:
        return IntakeState(intake, qr_code, latest)
    if latest.status == Enrollment.Status.CLOSED or latest.is_full:
        return IntakeState(Intake.FULL, qr_code, latest)
    return IntakeState(Intake.OPEN, qr_code, latest)


# ------------------------------------------------------------------------------
# KPIs
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeedbackKpis:
    """Feedback figures for one enrollment (or a whole pilot) over a date range."""

    feedback_count: int
    eligible_count: int
    scans: int
    days: int
    expected_customers: int  # expected daily customers × days in the range
    quality_total: int  # sum of quality scores, for averages across groups

    @property
    def participation(self) -> float | None:
        """Feedback as a percentage of the customers expected in the period."""
        if not self.expected_customers:
            return None
        return 100 * self.feedback_count / self.expected_customers

    @property
    def completion(self) -> float | None:
        """Submissions as a percentage of scans."""
        return 100 * self.feedback_count / self.scans if self.scans else None

    @property
    def average_quality(self) -> float | None:
        return self.quality_total / self.feedback_count if self.feedback_count else None

    @property
    def eligible_share(self) -> float | None:
        return 100 * self.eligible_count / self.feedback_count if self.feedback_count else None

    def __add__(self, other: "FeedbackKpis") -> "FeedbackKpis":
        return FeedbackKpis(
            feedback_count=self.feedback_count + other.feedback_count,
            eligible_count=self.eligible_count + other.eligible_count,
            scans=self.scans + other.scans,
            days=max(self.days, other.days),
            expected_customers=self.expected_customers + other.expected_customers,
            quality_total=self.quality_total + other.quality_total,
        )


NO_KPIS = FeedbackKpis(0, 0, 0, 0, 0, 0)


def feedback_counted() -> QuerySet[Feedback]:
    """The base of every KPI: feedback that counts, so neither spam nor the probe's synthetic."""
    return Feedback.objects.exclude(status=Feedback.Status.SPAM).filter(is_synthetic=False)


def local_day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The instants that open ``start`` and close ``end`` (inclusive) in local time."""
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def days_running(pilot: Pilot, start: date, end: date, today: date) -> int:
    first, last = max(start, pilot.starts_on), min(end, pilot.ends_on, today)
    return max((last - first).days + 1, 0)


def enrollment_kpis(
    enrollments: Iterable[Enrollment], *, start: date, end: date, today: date | None = None
) -> dict[int, FeedbackKpis]:
    """KPIs per enrollment id over ``start``..``end`` (inclusive): two aggregate queries in all.

    Spam is left out. Participation counts only the days the pilot ran, up to today.
    """
    enrollments = list(enrollments)
    if not enrollments:
        return {}
    today = today or timezone.localdate()
    opens, closes = local_day_bounds(start, end)
    feedback = {
        row["enrollment"]: row
        for row in feedback_counted()
        .filter(
            enrollment__in=[e.pk for e in enrollments],
            submitted_at__gte=opens,
            submitted_at__lt=closes,
        )
        .values("enrollment")
        .annotate(
            count=Count("id"),
            eligible=Count("id", filter=Q(reward_eligible=True)),
            quality=Sum("quality_score"),
        )
        .order_by()
    }
    scans = {
        (row["business"], row["pilot"]): row["scans"]
        for row in ScanCount.objects.filter(
            business__in={e.business_id for e in enrollments},
            pilot__in={e.pilot_id for e in enrollments},
            day__gte=start,
            day__lte=end,
        )
        .values("business", "pilot")
        .annotate(scans=Sum("scans"))
        .order_by()
    }
    kpis = {}
    for enrollment in enrollments:
        row = feedback.get(enrollment.pk, {})
        days = days_running(enrollment.pilot, start, end, today)
        kpis[enrollment.pk] = FeedbackKpis(
            feedback_count=row.get("count", 0),
            eligible_count=row.get("eligible", 0),
            scans=scans.get((enrollment.business_id, enrollment.pilot_id), 0),
            days=days,
            expected_customers=enrollment.business.expected_daily_customers * days,
            quality_total=row.get("quality") or 0,
        )
    return kpis


def pilot_kpis(pilot: Pilot, *, start: date, end: date, today: date | None = None) -> FeedbackKpis:
    """KPIs of the whole pilot: the sum over its enrollments (withdrawn ones included)."""
    enrollments = pilot.enrollments.select_related("business", "pilot")
    per_enrollment = enrollment_kpis(enrollments, start=start, end=end, today=today)
    return sum(per_enrollment.values(), NO_KPIS)


def payment_outcomes(
    enrollment_ids: list[int], *, start: date, end: date
) -> dict[int, tuple[int, int]]:
    """(paid, failed) rewards per enrollment in ``start``..``end``: one query.

    Paid counts by when it was paid; failed by when it last changed (a failure
    has no time of its own).
    """
    opens, closes = local_day_bounds(start, end)
    paid = Q(status=Payment.Status.PAID, paid_at__gte=opens, paid_at__lt=closes)
    failed = Q(status=Payment.Status.FAILED, updated_at__gte=opens, updated_at__lt=closes)
    rows = (
        Payment.objects.filter(feedback__enrollment__in=enrollment_ids)
        .filter(paid | failed)
        .values("feedback__enrollment")
        .annotate(paid=Count("id", filter=paid), failed=Count("id", filter=failed))
        .order_by()
    )
    return {row["feedback__enrollment"]: (row["paid"], row["failed"]) for row in rows}


# ------------------------------------------------------------------------------
# The report's best and worst comments
# ------------------------------------------------------------------------------
# Each order has a partial index per enrollment (see Feedback.Meta): the same
# conditions and order here let every database read a café's first few
# comments straight from it, however many rows the café has.
COMMENT_ORDERS = {
    "best": "rating DESC, quality_score DESC, submitted_at DESC",
    "worst": "rating ASC, quality_score DESC, submitted_at DESC",
}
COMMENT_CANDIDATES = 10  # per café and order: enough to find three different comments
SQLITE_UNION_TERMS = 200  # SQLite allows at most 500 terms in one compound query


def _commented(period: tuple[datetime, datetime] | None) -> tuple[str, list]:
    # Word for word the partial indexes' condition: SQLite uses one only then.
    where = "NOT (c.comment = '') AND NOT (c.status = 'spam')"
    if period is None:
        return where, []
    return where + " AND c.submitted_at >= %s AND c.submitted_at < %s", list(period)


def _candidate_ids(enrollment_ids: list[int], order: str, period) -> list[int]:
    """The first COMMENT_CANDIDATES comment ids of each enrollment in ``order``: few queries."""
    table = Feedback._meta.db_table
    where, params = _commented(period)
    # Table, conditions and order are ours; every value is a parameter.
    pick = f"SELECT c.id FROM {table} c WHERE c.enrollment_id = %s AND {where} "  # noqa: S608
    pick += f"ORDER BY {COMMENT_ORDERS[order]} LIMIT {COMMENT_CANDIDATES}"
    found: list[int] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            lateral = pick.replace("c.enrollment_id = %s", "c.enrollment_id = e.id")
            cursor.execute(
                f"SELECT picked.id FROM {Enrollment._meta.db_table} e "  # noqa: S608 - names are ours
                f"CROSS JOIN LATERAL ({lateral}) picked WHERE e.id = ANY(%s)",
                [*params, enrollment_ids],
            )
            return [row[0] for row in cursor.fetchall()]
        for first in range(0, len(enrollment_ids), SQLITE_UNION_TERMS):
            chunk = enrollment_ids[first : first + SQLITE_UNION_TERMS]
            union = " UNION ALL ".join(f"SELECT id FROM ({pick})" for _ in chunk)  # noqa: S608
            cursor.execute(union, [value for e in chunk for value in (e, *params)])
            found += [row[0] for row in cursor.fetchall()]
    return found


def _distinct_comments(feedback: list[Feedback], count: int = 3) -> list[Feedback]:
    """The first ``count`` feedback whose comments differ (repeats say nothing new)."""
    chosen, seen = [], set()
    for item in feedback:
        if len(chosen) == count:
            break
        if item.comment not in seen:
            seen.add(item.comment)
            chosen.append(item)
    return chosen


@dataclass(frozen=True)
class ReportComments:
    best: list[Feedback]
    worst: list[Feedback]


def report_comments(
    enrollment_ids: list[int], *, period: tuple[datetime, datetime] | None
) -> tuple[dict[int, ReportComments], ReportComments]:
    """The best and worst different comments of each café, and of all of them together.

    Reads a few candidates per café from the partial indexes, then ranks them
    here: the whole pilot's best three are among its cafés' best candidates.
    """
    ids = {order: _candidate_ids(enrollment_ids, order, period) for order in COMMENT_ORDERS}
    rows = Feedback.objects.filter(pk__in={*ids["best"], *ids["worst"]}).only(
        "rating", "comment", "quality_score", "submitted_at", "business", "enrollment"
    )
    by_id = {item.pk: item for item in rows}
    ranked = {
        "best": sorted(
            (by_id[i] for i in set(ids["best"])),
            key=lambda f: (-f.rating, -f.quality_score, -f.submitted_at.timestamp()),
        ),
        "worst": sorted(
            (by_id[i] for i in set(ids["worst"])),
            key=lambda f: (f.rating, -f.quality_score, -f.submitted_at.timestamp()),
        ),
    }
    by_site: dict[str, dict[int, list[Feedback]]] = {order: {} for order in ranked}
    for order, items in ranked.items():
        for item in items:
            by_site[order].setdefault(item.enrollment_id, []).append(item)
    per_site = {
        site: _best_and_worst(by_site["best"].get(site, []), by_site["worst"].get(site, []))
        for site in enrollment_ids
    }
    return per_site, _best_and_worst(ranked["best"], ranked["worst"])


def _best_and_worst(best: list[Feedback], worst: list[Feedback], count: int = 3) -> ReportComments:
    """Best and lowest rated comments, never one comment in both lists.

    With fewer than ``2 * count`` different comments they are shared out: the
    better half is best rated, the rest lowest rated.
    """
    different = len({item.comment for item in (*best, *worst)})
    chosen = _distinct_comments(best, min(count, (different + 1) // 2))
    shown = {item.comment for item in chosen}
    rest = _distinct_comments([item for item in worst if item.comment not in shown], count)
    return ReportComments(best=chosen, worst=rest)


@dataclass(frozen=True)
class ProbeUptime:
    """How many synthetic journeys ran in a period and how many succeeded."""

    runs: int
    succeeded: int

    @property
    def percent(self) -> float | None:
        return 100 * self.succeeded / self.runs if self.runs else None


def probe_uptime(*, start: date, end: date) -> ProbeUptime:
    """The form's uptime over ``start``..``end`` (local days), as the probe measured it."""
    opens, closes = local_day_bounds(start, end)
    counts = ProbeRun.objects.filter(started_at__gte=opens, started_at__lt=closes).aggregate(
        runs=Count("id"), succeeded=Count("id", filter=Q(ok=True))
    )
    return ProbeUptime(runs=counts["runs"], succeeded=counts["succeeded"])
