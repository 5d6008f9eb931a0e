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

from core import flags
from core.models import TimeStampedModel
from pilots.models.programme import percentage_field

MAX_STAGES = 10
MAX_SOAK_MINUTES = 30 * 24 * 60


class Flag(TimeStampedModel):
    """A switch for one feature: off, on for a canary of businesses, or on."""

    class State(models.TextChoices):
        OFF = flags.OFF, "Off"
        CANARY = flags.CANARY, "Canary"
        ON = flags.ON, "On"

    name = models.CharField(
        max_length=50,
        unique=True,
        validators=[
            RegexValidator(
                flags.NAME_PATTERN,
                "Lower-case letters, digits and underscores, starting with a letter.",
            )
        ],
        help_text="As the code checks it; FEATURE_<NAME> in the environment overrides it.",
    )
    description = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OFF)
    tags = models.ManyToManyField(
        "pilots.Tag",
        blank=True,
        related_name="flags",
        help_text="Businesses with any of these tags are its audience; none: every business.",
    )
    percentage = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(100)],
        help_text="In the canary state: the share of the audience that has the feature, %.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(percentage__gte=0, percentage__lte=100),
                name="rollouts_flag_percentage_0_to_100",
                violation_error_message="The percentage must be 0 to 100.",
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
        raise ValidationError(f"A plan has 1 to {MAX_STAGES} stages.")
    previous = 0
    for stage in value:
        if not isinstance(stage, dict) or set(stage) != {"percentage", "soak_minutes"}:
            raise ValidationError("Each stage has a percentage and a soak time.")
        percentage, soak = stage["percentage"], stage["soak_minutes"]
        if not isinstance(percentage, int) or not previous < percentage <= 100:
            raise ValidationError("Percentages rise from stage to stage, up to 100.")
        if not isinstance(soak, int) or not 1 <= soak <= MAX_SOAK_MINUTES:
            raise ValidationError("A soak time is 1 minute to 30 days.")
        previous = percentage


class Rollout(TimeStampedModel):
    """A flag moved through a plan of stages, each held for its soak time while guards stay green.

    The rollout job promotes it when every guard has been green over the
    stage's soak time, and rolls the flag back to off when a guard breaches
    or Alertmanager fires an alert labelled ``feature="<name>"``.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        ROLLED_BACK = "rolled_back", "Rolled back"

    flag = models.ForeignKey(Flag, on_delete=models.PROTECT, related_name="rollouts")
    stages = models.JSONField(
        validators=[validate_stages],
        help_text='The plan, e.g. [{"percentage": 10, "soak_minutes": 60}, …].',
    )
    stage = models.PositiveSmallIntegerField(default=0, help_text="The current stage, from 0.")
    stage_started_at = models.DateTimeField()
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.RUNNING, db_index=True
    )
    max_error_rate = percentage_field(
        2, "Highest share of failing requests (5xx) among those given the feature, %."
    )
    min_requests = models.PositiveIntegerField(
        default=20,
        help_text="Requests given the feature in a stage before it may be promoted.",
    )
    max_completion_drop = percentage_field(
        10, "How far completion in the flag may fall below the businesses outside it, points."
    )
    max_quality_drop = percentage_field(
        5, "How far average quality in the flag may fall below the businesses outside it."
    )
    max_payment_success_drop = percentage_field(
        2, "How far payment success in the flag may fall below the businesses outside it, points."
    )
    min_feedback = models.PositiveIntegerField(
        default=10,
        help_text="Feedback (or payments) each side needs before a KPI is compared.",
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="Why it was rolled back.")
    incident = models.ForeignKey(
        "support.Incident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The incident opened (or updated) when it was rolled back.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["flag"],
                condition=Q(status="running"),
                name="rollouts_rollout_one_running_per_flag",
                violation_error_message="This flag already has a running rollout.",
            ),
            models.CheckConstraint(
                condition=Q(status="running", finished_at__isnull=True)
                | (~Q(status="running") & Q(finished_at__isnull=False)),
                name="rollouts_rollout_finished_at_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.flag.name} rollout {self.pk}"

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
