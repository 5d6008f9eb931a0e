"""Feedback from the form behind a code, scan counts, and the global intake switch."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

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
        raise ValidationError(_("Categories must be a list of known categories."))
    if len(set(value)) != len(value):
        raise ValidationError(_("A category is listed twice."))


class Feedback(TimeStampedModel):
    """One submission from the form behind a printed code."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        FLAGGED = "flagged", _("Flagged")
        SPAM = "spam", _("Spam")

    COMMENT_MAX_LENGTH = 2000
    CONTACT_FIELDS = ("contact_email", "contact_phone")

    business = models.ForeignKey(
        Business, on_delete=models.PROTECT, related_name="feedback", verbose_name=_("business")
    )
    pilot = models.ForeignKey(
        Pilot,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="feedback",
        verbose_name=_("pilot"),
        help_text=_("The pilot the business was active in when this came in."),
    )
    enrollment = models.ForeignKey(
        Enrollment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="feedback",
        verbose_name=_("enrollment"),
    )
    qr_code = models.ForeignKey(
        QRCode, on_delete=models.PROTECT, related_name="feedback", verbose_name=_("QR code")
    )
    rating = models.PositiveSmallIntegerField(
        _("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    categories = models.JSONField(
        _("categories"), default=list, blank=True, validators=[validate_categories]
    )
    comment = models.TextField(_("comment"), max_length=COMMENT_MAX_LENGTH, blank=True)
    language = models.CharField(_("language"), max_length=2, choices=Business.Language.choices)
    quality_score = models.PositiveSmallIntegerField(
        _("quality score"),
        validators=[MaxValueValidator(100)],
        help_text=_("0-100, see pilots/scoring.py."),
    )
    quality_rubric = models.PositiveSmallIntegerField(
        _("quality rubric"),
        choices=[(1, _("Rubric 1")), (2, _("Rubric 2"))],
        default=1,
        db_default=1,  # rows inserted in bulk without it were scored by the first
        help_text=_("The version of the quality rubric that scored it (pilots/scoring.py)."),
    )
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    consent_at = models.DateTimeField(
        _("consent given at"),
        null=True,
        blank=True,
        help_text=_("When the customer agreed to be contacted for the reward."),
    )
    contact_anonymised_at = models.DateTimeField(
        _("contact anonymised at"), null=True, blank=True, editable=False
    )
    reward_eligible = models.BooleanField(_("reward eligible"), default=False)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACCEPTED
    )
    client_hash = models.CharField(
        _("client hash"),
        max_length=64,
        db_index=True,
        help_text=_("Salted hash of the client address, never the address."),
    )
    device_hash = models.CharField(
        _("device hash"),
        max_length=64,
        blank=True,
        default="",
        help_text=_(
            "Salted hash of the device cookie with the client address; "
            "tells apart two people on one network."
        ),
    )
    submission_key = models.CharField(
        _("submission key"),
        max_length=64,
        blank=True,
        default="",
        editable=False,
        help_text=_("The one-time key of the form it was sent from: a repeat of it is this row."),
    )
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    is_synthetic = models.BooleanField(
        _("synthetic"),
        default=False,
        editable=False,
        help_text=_("Sent by the synthetic probe; never counted in KPIs, rewards or trial limits."),
    )

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
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
                violation_error_message=_("Contact details are kept only with consent."),
            ),
            models.CheckConstraint(
                condition=Q(reward_eligible=False) | Q(status="accepted", pilot__isnull=False),
                name="pilots_feedback_eligible_only_when_accepted_in_a_pilot",
            ),
        ]

    def __str__(self) -> str:
        submitted = timezone.localtime(self.submitted_at)
        return _("%(rating)s★ at %(business)s (%(submitted)s)") % {
            "rating": self.rating,
            "business": self.business.name,
            "submitted": f"{submitted:%Y-%m-%d %H:%M}",
        }

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

    qr_code = models.ForeignKey(
        QRCode, on_delete=models.CASCADE, related_name="scan_counts", verbose_name=_("QR code")
    )
    business = models.ForeignKey(
        Business, on_delete=models.CASCADE, related_name="scan_counts", verbose_name=_("business")
    )
    pilot = models.ForeignKey(
        Pilot,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="scan_counts",
        verbose_name=_("pilot"),
    )
    day = models.DateField(_("day"))
    scans = models.PositiveIntegerField(_("scans"), default=0)

    class Meta:
        verbose_name = _("scan count")
        verbose_name_plural = _("scan counts")
        constraints = [
            models.UniqueConstraint(fields=["qr_code", "day"], name="pilots_scancount_one_per_day")
        ]
        indexes = [models.Index(fields=["business", "day"]), models.Index(fields=["pilot", "day"])]

    def __str__(self) -> str:
        return ngettext("%(scans)d scan on %(day)s", "%(scans)d scans on %(day)s", self.scans) % {
            "scans": self.scans,
            "day": self.day,
        }


class IntakeSwitch(models.Model):
    """The global switch for feedback intake (maintenance mode). One row."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    is_open = models.BooleanField(
        _("open"),
        default=True,
        help_text=_("Untick to show every feedback form as closed for maintenance."),
    )
    message = models.CharField(
        _("message"),
        max_length=200,
        blank=True,
        help_text=_("Shown to customers while intake is closed (optional)."),
    )
    retry_after_minutes = models.PositiveIntegerField(
        _("retry after (minutes)"),
        default=30,
        help_text=_("How soon customers may try again, sent as Retry-After."),
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("feedback intake switch")
        verbose_name_plural = _("feedback intake switch")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="pilots_intakeswitch_singleton")
        ]

    def __str__(self) -> str:
        return str(_("Feedback intake is open") if self.is_open else _("Feedback intake is closed"))


class DailyMetric(models.Model):
    """One enrollment's figures for one local day, kept after the raw rows are purged.

    The dashboard and the success report read closed days from these rows:
    the daily job takes them, and a late change to a snapshotted day (a
    feedback marked as spam, scans counted after midnight) recounts it.
    """

    enrollment = models.ForeignKey(
        Enrollment,
        on_delete=models.CASCADE,
        related_name="daily_metrics",
        verbose_name=_("enrollment"),
    )
    business = models.ForeignKey(
        Business, on_delete=models.CASCADE, related_name="daily_metrics", verbose_name=_("business")
    )
    pilot = models.ForeignKey(
        Pilot, on_delete=models.CASCADE, related_name="daily_metrics", verbose_name=_("pilot")
    )
    day = models.DateField(_("day"))
    scans = models.PositiveIntegerField(_("scans"), default=0)
    submissions = models.PositiveIntegerField(_("submissions"), default=0)
    eligible = models.PositiveIntegerField(_("eligible"), default=0)
    quality_average = models.FloatField(_("quality average"), null=True, blank=True)
    quality_total = models.PositiveIntegerField(
        _("quality total"),
        default=0,
        help_text=_("Sum of the quality scores, so averages add up across days."),
    )
    categories = models.JSONField(
        _("categories"),
        default=dict,
        blank=True,
        help_text=_('Submissions per category, e.g. {"service": 12}.'),
    )
    rubrics = models.JSONField(
        _("rubrics"),
        default=dict,
        blank=True,
        help_text=_("Per quality rubric: [submissions, quality total, eligible]."),
    )
    payments_paid = models.PositiveIntegerField(_("payments paid"), default=0)
    payments_failed = models.PositiveIntegerField(_("payments failed"), default=0)
    taken_at = models.DateTimeField(_("taken at"), auto_now=True)

    class Meta:
        ordering = ["-day", "business__name"]
        verbose_name = _("daily metric")
        verbose_name_plural = _("daily metrics")
        indexes = [models.Index(fields=["pilot", "day"])]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "day"], name="pilots_dailymetric_once_a_day"
            )
        ]

    def __str__(self) -> str:
        return _("%(business)s on %(day)s") % {"business": self.business_id, "day": self.day}


class ProbeRun(models.Model):
    """One synthetic journey through the public form of the probe code (pilots/probe.py)."""

    started_at = models.DateTimeField(_("started at"), db_index=True)
    ok = models.BooleanField(_("succeeded"))
    latency_ms = models.PositiveIntegerField(
        _("latency (ms)"), help_text=_("From the first request to the last answer.")
    )
    status_code = models.PositiveSmallIntegerField(
        _("status code"),
        null=True,
        blank=True,
        help_text=_("The answer that decided the outcome."),
    )
    detail = models.CharField(_("detail"), max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("probe run")
        verbose_name_plural = _("probe runs")

    def __str__(self) -> str:
        at = f"{self.started_at:%Y-%m-%d %H:%M:%S %Z}"
        if self.ok:
            return _("probe succeeded at %(at)s") % {"at": at}
        return _("probe failed at %(at)s") % {"at": at}
