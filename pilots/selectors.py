"""Read paths of the pilots part."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from pilots.models import (
    Business,
    Enrollment,
    Feedback,
    IntakeSwitch,
    Payment,
    Pilot,
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


def intake_state(qr_code: QRCode | None, *, today: date | None = None) -> IntakeState:
    """Decide what the form behind ``qr_code`` shows.

    A business with an active enrollment takes feedback for that pilot while
    the pilot runs and the trial limit allows. One whose last enrollment was
    closed (pilot over, or trial limit reached) says so until it is enrolled
    again. One never enrolled, or withdrawn, takes feedback without a reward.
    """
    if qr_code is None:
        return IntakeState(Intake.UNKNOWN_CODE)
    if qr_code.status == QRCode.Status.REVOKED:
        return IntakeState(Intake.REVOKED, qr_code)
    switch = intake_switch()
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
    latest = (
        Enrollment.objects.filter(business=business)
        .exclude(status=Enrollment.Status.WITHDRAWN)
        .select_related("pilot")
        .order_by("-created_at", "-pk")
        .first()
    )
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


def local_day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The instants that open ``start`` and close ``end`` (inclusive) in local time."""
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def _days_running(pilot: Pilot, start: date, end: date, today: date) -> int:
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
        for row in Feedback.objects.filter(
            enrollment__in=[e.pk for e in enrollments],
            submitted_at__gte=opens,
            submitted_at__lt=closes,
        )
        .exclude(status=Feedback.Status.SPAM)
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
        days = _days_running(enrollment.pilot, start, end, today)
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
