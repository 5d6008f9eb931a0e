"""Feature flags for businesses, and the staged rollouts that move them.

A flag's history (every change: who, when, from → to, why) is kept as
history events (``core.models.Event``) written by the services.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core import flags
from core.models import TimeStampedModel
from pilots.models.programme import percentage_field

MAX_STAGES = 10
MAX_SOAK_MINUTES = 30 * 24 * 60


def _percentage(verbose_name, default: int, help_text) -> models.DecimalField:
    field = percentage_field(default, help_text)
    field.verbose_name = verbose_name
    return field


class Flag(TimeStampedModel):
    """A switch for one feature: off, on for a canary of businesses, or on."""

    class State(models.TextChoices):
        OFF = flags.OFF, _("Off")
        CANARY = flags.CANARY, _("Canary")
        ON = flags.ON, _("On")

    name = models.CharField(
        _("name"),
        max_length=50,
        unique=True,
        validators=[
            RegexValidator(
                flags.NAME_PATTERN,
                _("Lower-case letters, digits and underscores, starting with a letter."),
            )
        ],
        help_text=_("As the code checks it; FEATURE_<NAME> in the environment overrides it."),
    )
    description = models.TextField(_("description"), blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OFF)
    tags = models.ManyToManyField(
        "pilots.Tag",
        blank=True,
        related_name="flags",
        verbose_name=_("tags"),
        help_text=_("Businesses with any of these tags are its audience; none: every business."),
    )
    percentage = models.PositiveSmallIntegerField(
        _("percentage"),
        default=0,
        validators=[MaxValueValidator(100)],
        help_text=_("In the canary state: the share of the audience that has the feature, %."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("flag")
        verbose_name_plural = _("flags")
        constraints = [
            models.CheckConstraint(
                condition=Q(percentage__gte=0, percentage__lte=100),
                name="rollouts_flag_percentage_0_to_100",
                violation_error_message=_("The percentage must be 0 to 100."),
            ),
            models.CheckConstraint(
                condition=Q(state__in=["off", "canary", "on"]),
                name="rollouts_flag_state_known",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def override_variable(self) -> str:
        return f"FEATURE_{self.name.upper()}"


def validate_stages(value) -> None:
    """A plan: 1 to MAX_STAGES stages of rising percentages, each with a soak time."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_STAGES:
        raise ValidationError(
            _("A plan has 1 to %(max)d stages."), params={"max": MAX_STAGES}, code="stages"
        )
    previous = 0
    for stage in value:
        if not isinstance(stage, dict) or set(stage) != {"percentage", "soak_minutes"}:
            raise ValidationError(_("Each stage has a percentage and a soak time."))
        percentage, soak = stage["percentage"], stage["soak_minutes"]
        if not isinstance(percentage, int) or not previous < percentage <= 100:
            raise ValidationError(_("Percentages rise from stage to stage, up to 100."))
        if not isinstance(soak, int) or not 1 <= soak <= MAX_SOAK_MINUTES:
            raise ValidationError(_("A soak time is 1 minute to 30 days."))
        previous = percentage


class Rollout(TimeStampedModel):
    """A flag moved through a plan of stages, each held for its soak time while guards stay green.

    The rollout job promotes it when every guard has been green over the
    stage's soak time, and rolls the flag back to off when a guard breaches
    or Alertmanager fires an alert labelled ``feature="<name>"``.
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")
        ROLLED_BACK = "rolled_back", _("Rolled back")

    flag = models.ForeignKey(
        Flag, on_delete=models.PROTECT, related_name="rollouts", verbose_name=_("flag")
    )
    stages = models.JSONField(
        _("stages"),
        validators=[validate_stages],
        help_text=_('The plan, e.g. [{"percentage": 10, "soak_minutes": 60}, …].'),
    )
    stage = models.PositiveSmallIntegerField(
        _("stage"), default=0, help_text=_("The current stage, from 0.")
    )
    stage_started_at = models.DateTimeField(_("stage started at"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.RUNNING, db_index=True
    )
    max_error_rate = _percentage(
        _("max error rate"),
        2,
        _("Highest share of failing requests (5xx) among those given the feature, %."),
    )
    min_requests = models.PositiveIntegerField(
        _("min requests"),
        default=20,
        help_text=_("Requests given the feature in a stage before it may be promoted."),
    )
    max_completion_drop = _percentage(
        _("max completion drop"),
        10,
        _("How far completion in the flag may fall below the businesses outside it, points."),
    )
    max_quality_drop = _percentage(
        _("max quality drop"),
        5,
        _("How far average quality in the flag may fall below the businesses outside it."),
    )
    max_payment_success_drop = _percentage(
        _("max payment success drop"),
        2,
        _("How far payment success in the flag may fall below the businesses outside it, points."),
    )
    min_feedback = models.PositiveIntegerField(
        _("min feedback"),
        default=10,
        help_text=_("Feedback (or payments) each side needs before a KPI is compared."),
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("started by"),
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True, help_text=_("Why it was rolled back."))
    incident = models.ForeignKey(
        "support.Incident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("incident"),
        help_text=_("The incident opened (or updated) when it was rolled back."),
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("rollout")
        verbose_name_plural = _("rollouts")
        constraints = [
            models.UniqueConstraint(
                fields=["flag"],
                condition=Q(status="running"),
                name="rollouts_rollout_one_running_per_flag",
                violation_error_message=_("This flag already has a running rollout."),
            ),
            models.CheckConstraint(
                condition=Q(status="running", finished_at__isnull=True)
                | (~Q(status="running") & Q(finished_at__isnull=False)),
                name="rollouts_rollout_finished_at_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(flag)s rollout %(id)s") % {"flag": self.flag.name, "id": self.pk}

    @property
    def current_stage(self) -> dict:
        return self.stages[min(self.stage, len(self.stages) - 1)]

    @property
    def soak(self) -> timedelta:
        return timedelta(minutes=self.current_stage["soak_minutes"])

    @property
    def is_last_stage(self) -> bool:
        return self.stage >= len(self.stages) - 1

    @property
    def plan_text(self) -> str:
        return " → ".join(f"{stage['percentage']} %" for stage in self.stages)
