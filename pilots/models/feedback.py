"""Feedback from the form behind a code, scan counts, and the global intake switch."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from pilots.models.programme import Business, Enrollment, Pilot, QRCode


class Category(models.TextChoices):
    """What a feedback is about (the chips on the form)."""

    SERVICE = "service", _("Service")
    FOOD_AND_DRINK = "food_drink", _("Food & drink")
    CLEANLINESS = "cleanliness", _("Cleanliness")
    ATMOSPHERE = "atmosphere", _("Atmosphere")
    PRICE = "price", _("Price")
    WAITING_TIME = "waiting_time", _("Waiting time")


def validate_categories(value) -> None:
    if not isinstance(value, list) or not all(item in Category.values for item in value):
        raise ValidationError("Categories must be a list of known categories.")
    if len(set(value)) != len(value):
        raise ValidationError("A category is listed twice.")


class Feedback(TimeStampedModel):
    """One submission from the form behind a printed code."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        FLAGGED = "flagged", "Flagged"
        SPAM = "spam", "Spam"

    COMMENT_MAX_LENGTH = 2000
    CONTACT_FIELDS = ("contact_email", "contact_phone")

    business = models.ForeignKey(Business, on_delete=models.PROTECT, related_name="feedback")
    pilot = models.ForeignKey(
        Pilot,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="feedback",
        help_text="The pilot the business was active in when this came in.",
    )
    enrollment = models.ForeignKey(
        Enrollment, null=True, blank=True, on_delete=models.PROTECT, related_name="feedback"
    )
    qr_code = models.ForeignKey(QRCode, on_delete=models.PROTECT, related_name="feedback")
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    categories = models.JSONField(default=list, blank=True, validators=[validate_categories])
    comment = models.TextField(max_length=COMMENT_MAX_LENGTH, blank=True)
    language = models.CharField(max_length=2, choices=Business.Language.choices)
    quality_score = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(100)], help_text="0-100, see pilots/scoring.py."
    )
    quality_rubric = models.PositiveSmallIntegerField(
        choices=[(1, "Rubric 1"), (2, "Rubric 2")],
        default=1,
        db_default=1,  # rows inserted in bulk without it were scored by the first
        help_text="The version of the quality rubric that scored it (pilots/scoring.py).",
    )
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=20, blank=True)
    consent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the customer agreed to be contacted for the reward."
    )
    contact_anonymised_at = models.DateTimeField(null=True, blank=True, editable=False)
    reward_eligible = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACCEPTED)
    client_hash = models.CharField(
        max_length=64,
        db_index=True,
        help_text="Salted hash of the client address, never the address.",
    )
    device_hash = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="Salted hash of the device cookie with the client address; "
        "tells apart two people on one network.",
    )
    submission_key = models.CharField(
        max_length=64,
        blank=True,
        default="",
        editable=False,
        help_text="The one-time key of the form it was sent from: a repeat of it is this row.",
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    is_synthetic = models.BooleanField(
        default=False,
        editable=False,
        help_text="Sent by the synthetic probe; never counted in KPIs, rewards or trial limits.",
    )

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name_plural = "feedback"
        indexes = [
            models.Index(fields=["business", "-submitted_at"]),
            models.Index(fields=["pilot", "-submitted_at"]),
            models.Index(fields=["enrollment", "-submitted_at"]),
            models.Index(fields=["-submitted_at", "-id"]),
            models.Index(fields=["qr_code", "client_hash", "-submitted_at"]),
            models.Index(fields=["qr_code", "device_hash", "-submitted_at"]),
            models.Index(fields=["status", "-submitted_at"]),
            # The success report's best and worst comments, per pilot and per site.
            *(
                models.Index(
                    fields=[owner, *order],
                    condition=~Q(comment="") & ~Q(status="spam"),
                    name=f"pilots_fb_{owner}_{name}",
                )
                for owner in ("pilot", "enrollment")
                for name, order in (
                    ("best", ["-rating", "-quality_score", "-submitted_at"]),
                    ("worst", ["rating", "-quality_score", "-submitted_at"]),
                )
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["submission_key"],
                condition=~Q(submission_key=""),
                name="pilots_feedback_one_row_per_submission_key",
            ),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5),
                name="pilots_feedback_rating_1_to_5",
            ),
            models.CheckConstraint(
                condition=Q(quality_score__gte=0, quality_score__lte=100),
                name="pilots_feedback_quality_score_0_to_100",
            ),
            models.CheckConstraint(
                condition=(Q(contact_email="") & Q(contact_phone="")) | Q(consent_at__isnull=False),
                name="pilots_feedback_contact_needs_consent",
                violation_error_message="Contact details are kept only with consent.",
            ),
            models.CheckConstraint(
                condition=Q(reward_eligible=False) | Q(status="accepted", pilot__isnull=False),
                name="pilots_feedback_eligible_only_when_accepted_in_a_pilot",
            ),
        ]

    def __str__(self) -> str:
        submitted = timezone.localtime(self.submitted_at)
        return f"{self.rating}★ at {self.business.name} ({submitted:%Y-%m-%d %H:%M})"

    @property
    def has_contact(self) -> bool:
        return bool(self.contact_email or self.contact_phone)

    def qualifies_for_reward(self) -> bool:
        """The reward rule: an accepted feedback in a paying pilot, at or above its
        threshold, with a contact given with consent."""
        pilot = self.pilot
        return (
            pilot is not None
            and pilot.reward_amount > 0
            and self.status == self.Status.ACCEPTED
            and self.has_contact
            and self.consent_at is not None
            and self.quality_score >= pilot.reward_threshold
        )


class ScanCount(models.Model):
    """Landings on one code's form in one day, each client counted once.

    One row per code and day, so the table grows with codes × days, not with
    page views; completion rate = submissions ÷ scans.
    """

    qr_code = models.ForeignKey(QRCode, on_delete=models.CASCADE, related_name="scan_counts")
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="scan_counts")
    pilot = models.ForeignKey(
        Pilot, null=True, blank=True, on_delete=models.CASCADE, related_name="scan_counts"
    )
    day = models.DateField()
    scans = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["qr_code", "day"], name="pilots_scancount_one_per_day")
        ]
        indexes = [models.Index(fields=["business", "day"]), models.Index(fields=["pilot", "day"])]

    def __str__(self) -> str:
        return f"{self.scans} scan(s) on {self.day}"


class IntakeSwitch(models.Model):
    """The global switch for feedback intake (maintenance mode). One row."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    is_open = models.BooleanField(
        default=True, help_text="Untick to show every feedback form as closed for maintenance."
    )
    message = models.CharField(
        max_length=200,
        blank=True,
        help_text="Shown to customers while intake is closed (optional).",
    )
    retry_after_minutes = models.PositiveIntegerField(
        default=30, help_text="How soon customers may try again, sent as Retry-After."
    )
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "feedback intake switch"
        verbose_name_plural = "feedback intake switch"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="pilots_intakeswitch_singleton")
        ]

    def __str__(self) -> str:
        return "Feedback intake is open" if self.is_open else "Feedback intake is closed"


class DailyMetric(models.Model):
    """One enrollment's figures for one local day, kept after the raw rows are purged.

    The dashboard and the success report read closed days from these rows:
    the daily job takes them, and a late change to a snapshotted day (a
    feedback marked as spam, scans counted after midnight) recounts it.
    """

    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="daily_metrics"
    )
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="daily_metrics")
    pilot = models.ForeignKey(Pilot, on_delete=models.CASCADE, related_name="daily_metrics")
    day = models.DateField()
    scans = models.PositiveIntegerField(default=0)
    submissions = models.PositiveIntegerField(default=0)
    eligible = models.PositiveIntegerField(default=0)
    quality_average = models.FloatField(null=True, blank=True)
    quality_total = models.PositiveIntegerField(
        default=0, help_text="Sum of the quality scores, so averages add up across days."
    )
    categories = models.JSONField(
        default=dict, blank=True, help_text='Submissions per category, e.g. {"service": 12}.'
    )
    rubrics = models.JSONField(
        default=dict,
        blank=True,
        help_text="Per quality rubric: [submissions, quality total, eligible].",
    )
    payments_paid = models.PositiveIntegerField(default=0)
    payments_failed = models.PositiveIntegerField(default=0)
    taken_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day", "business__name"]
        indexes = [models.Index(fields=["pilot", "day"])]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "day"], name="pilots_dailymetric_once_a_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.business_id} on {self.day}"


class ProbeRun(models.Model):
    """One synthetic journey through the public form of the probe code (pilots/probe.py)."""

    started_at = models.DateTimeField(db_index=True)
    ok = models.BooleanField()
    latency_ms = models.PositiveIntegerField(help_text="From the first request to the last answer.")
    status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The answer that decided the outcome."
    )
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "probe run"

    def __str__(self) -> str:
        return f"probe {'ok' if self.ok else 'failed'} at {self.started_at:%Y-%m-%d %H:%M:%S %Z}"
