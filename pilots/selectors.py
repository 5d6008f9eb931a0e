"""Read paths of the pilots part."""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from django.db.models import QuerySet
from django.utils import timezone

from pilots.models import Business, Enrollment, IntakeSwitch, Pilot, QRCode
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
