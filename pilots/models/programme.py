"""Businesses, the pilots they take part in, their enrollments and the QR codes on their tables."""

import re
import zoneinfo
from dataclasses import dataclass
from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel

STOCKHOLM = "Europe/Stockholm"


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("%(value)s is not a known time zone (e.g. %(example)s)."),
            params={"value": repr(value), "example": STOCKHOLM},
        )


@dataclass(frozen=True)
class PeakWindow:
    starts: time
    ends: time


_PEAK_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")


def parse_peak_hours(text: str) -> list[PeakWindow]:
    """Read "07:00-09:00, 12:00-14:00" into windows; raise ValidationError when unreadable."""
    windows = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = _PEAK_WINDOW.match(part)
        if not match:
            raise ValidationError(
                _("%(part)s is not a window like 07:00-09:00.") % {"part": repr(part)}
            )
        h1, m1, h2, m2 = map(int, match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValidationError(_("%(part)s is not a time of day.") % {"part": repr(part)})
        window = PeakWindow(time(h1, m1), time(h2, m2))
        if window.starts >= window.ends:
            raise ValidationError(_("%(part)s ends before it starts.") % {"part": repr(part)})
        windows.append(window)
    return windows


def validate_peak_hours(value: str) -> None:
    parse_peak_hours(value)


def percentage_field(default: int, help_text, verbose_name=None) -> models.DecimalField:
    return models.DecimalField(
        verbose_name,
        max_digits=5,
        decimal_places=2,
        default=default,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=help_text,
    )


def between_0_and_100(field: str, label) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{field}__gte": 0, f"{field}__lte": 100}),
        name=f"%(app_label)s_%(class)s_{field}_0_to_100",
        violation_error_message=label,
    )


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Business(TimeStampedModel):
    """A café or shop that takes part in pilots."""

    class Status(models.TextChoices):
        ONBOARDING = "onboarding", _("Onboarding")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        CHURNED = "churned", _("Churned")

    class Language(models.TextChoices):
        SWEDISH = "sv", _("Swedish")
        ENGLISH = "en", _("English")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    city = models.CharField(_("city"), max_length=100, db_index=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    timezone = models.CharField(
        _("time zone"), max_length=64, default=STOCKHOLM, validators=[validate_timezone]
    )
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.SWEDISH
    )
    contact_name = models.CharField(_("contact name"), max_length=200, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    expected_daily_customers = models.PositiveIntegerField(
        _("expected daily customers"),
        help_text=_("Customers on an ordinary day; participation is feedback per customer."),
    )
    peak_hours = models.CharField(
        _("peak hours"),
        max_length=200,
        blank=True,
        validators=[validate_peak_hours],
        help_text=_("Busy windows in local time, e.g. 07:00-09:00, 12:00-14:00."),
    )
    context = models.TextField(_("context"), blank=True, help_text=_("Layout, staff, specialties."))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ONBOARDING, db_index=True
    )
    tags = models.ManyToManyField(
        Tag, blank=True, related_name="businesses", verbose_name=_("tags")
    )
    is_probe = models.BooleanField(
        _("probe business"),
        default=False,
        editable=False,
        help_text=_(
            "The reserved business of the synthetic probe (pilots/probe.py): its "
            "feedback is synthetic and counts nowhere."
        ),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("business")
        verbose_name_plural = _("businesses")
        constraints = [
            models.CheckConstraint(
                condition=Q(expected_daily_customers__gt=0),
                name="pilots_business_expected_daily_customers_positive",
                violation_error_message=_("Expected daily customers must be at least 1."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.city})"

    @property
    def peak_windows(self) -> list[PeakWindow]:
        return parse_peak_hours(self.peak_hours)


class Pilot(TimeStampedModel):
    """A time-boxed programme with a reward, trial limits and targets."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.DRAFT,
        editable=False,
        db_index=True,
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    reward_amount = models.IntegerField(
        _("reward amount"), default=1000, help_text=_("In minor units (öre): 1000 is 10 kr.")
    )
    reward_currency = models.CharField(
        _("reward currency"),
        max_length=3,
        default="SEK",
        validators=[RegexValidator(r"^[A-Z]{3}$", _("An ISO 4217 code such as SEK."))],
    )
    reward_threshold = models.PositiveSmallIntegerField(
        _("reward threshold"),
        default=60,
        validators=[MaxValueValidator(100)],
        help_text=_("Feedback with at least this quality score (0-100) earns the reward."),
    )
    default_trial_limit = models.IntegerField(
        _("default trial limit"),
        default=100,
        help_text=_("Feedback submissions per business unless its enrollment says otherwise."),
    )
    target_participation = percentage_field(
        10, _("Feedback as a share of daily customers, %."), verbose_name=_("target participation")
    )
    target_completion = percentage_field(
        70, _("Submissions as a share of scans, %."), verbose_name=_("target completion")
    )
    target_quality = percentage_field(
        65, _("Average quality score (0-100)."), verbose_name=_("target quality")
    )
    target_payment_success = percentage_field(
        98, _("Rewards paid as a share of attempted, %."), verbose_name=_("target payment success")
    )
    status_changed_at = models.DateTimeField(
        _("status changed at"), null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["-starts_on", "name"]
        verbose_name = _("pilot")
        verbose_name_plural = _("pilots")
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_on__lte=models.F("ends_on")),
                name="pilots_pilot_starts_before_it_ends",
                violation_error_message=_("The pilot must start on or before its end date."),
            ),
            models.CheckConstraint(
                condition=Q(reward_amount__gte=0),
                name="pilots_pilot_reward_amount_not_negative",
                violation_error_message=_("The reward cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(default_trial_limit__gt=0),
                name="pilots_pilot_default_trial_limit_positive",
                violation_error_message=_("The trial limit must be at least 1."),
            ),
            between_0_and_100("reward_threshold", _("Reward threshold must be 0 to 100.")),
            between_0_and_100("target_participation", _("Target participation must be 0 to 100.")),
            between_0_and_100("target_completion", _("Target completion must be 0 to 100.")),
            between_0_and_100("target_quality", _("Target quality must be 0 to 100.")),
            between_0_and_100(
                "target_payment_success", _("Target payment success must be 0 to 100.")
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Enrollment(TimeStampedModel):
    """A business taking part in a pilot, with its own trial limit."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CLOSED = "closed", _("Closed")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    pilot = models.ForeignKey(
        Pilot, on_delete=models.PROTECT, related_name="enrollments", verbose_name=_("pilot")
    )
    business = models.ForeignKey(
        Business, on_delete=models.PROTECT, related_name="enrollments", verbose_name=_("business")
    )
    trial_limit = models.IntegerField(
        _("trial limit"),
        help_text=_("Feedback submissions this business may collect in the pilot."),
    )
    feedback_count = models.PositiveIntegerField(
        _("feedback count"),
        default=0,
        editable=False,
        help_text=_("Feedback submissions collected so far (spam excluded)."),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE, editable=False
    )
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["business__name"]
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        indexes = [models.Index(fields=["pilot", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["business"],
                condition=Q(status="active"),
                name="pilots_enrollment_one_active_per_business",
                violation_error_message=_(
                    "This business is already enrolled in an active pilot; withdraw it there first."
                ),
            ),
            models.CheckConstraint(
                condition=Q(trial_limit__gt=0),
                name="pilots_enrollment_trial_limit_positive",
                violation_error_message=_("The trial limit must be at least 1."),
            ),
            models.CheckConstraint(
                condition=Q(status="active", ended_at__isnull=True)
                | (~Q(status="active") & Q(ended_at__isnull=False)),
                name="pilots_enrollment_ended_at_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return _("%(business)s in %(pilot)s") % {
            "business": self.business.name,
            "pilot": self.pilot.name,
        }

    @property
    def is_full(self) -> bool:
        return self.feedback_count >= self.trial_limit


class QRCode(TimeStampedModel):
    """A printed code at one placement of a business ("Table 4", "Counter").

    The token is the secret in the printed URL. It is never reused: revoked
    codes keep their row, and the unique constraint spans all rows.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        REVOKED = "revoked", _("Revoked")

    business = models.ForeignKey(
        Business, on_delete=models.PROTECT, related_name="qr_codes", verbose_name=_("business")
    )
    placement = models.CharField(
        _("placement"), max_length=100, help_text=_('Where it stands, e.g. "Table 4".')
    )
    token = models.CharField(_("token"), max_length=64, unique=True, editable=False)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE, editable=False
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    replaced_by = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaces",
        editable=False,
        verbose_name=_("replaced by"),
    )

    class Meta:
        ordering = ["business__name", "placement"]
        verbose_name = _("QR code")
        verbose_name_plural = _("QR codes")
        indexes = [models.Index(fields=["business", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "placement"],
                condition=Q(status="active"),
                name="pilots_qrcode_one_active_per_placement",
                violation_error_message=_("This placement already has an active code."),
            ),
            models.CheckConstraint(
                condition=Q(status="active", revoked_at__isnull=True)
                | Q(status="revoked", revoked_at__isnull=False),
                name="pilots_qrcode_revoked_at_matches_status",
            ),
        ]

    def __str__(self) -> str:
        # Never the token: this text lands in admin history and messages.
        return f"{self.business.name} · {self.placement}"

    @property
    def public_url(self) -> str:
        """The address the printed code encodes."""
        return settings.PUBLIC_BASE_URL + reverse("pilots:feedback-form", args=[self.token])
