"""On call: responders, rotations and overrides, escalation policies, escalations and pages."""

from datetime import time

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.models import Message, TimeStampedModel
from pilots.models import validate_timezone
from support.models.calendars import OpeningWindow, SupportCalendar
from support.models.incidents import Incident, Severity
from support.models.tickets import Priority, Ticket


# On call
# ------------------------------------------------------------------------------
class Responder(TimeStampedModel):
    """How a member of staff is reached when paged, besides their e-mail address."""

    user = models.OneToOneField(
        "auth.User", on_delete=models.CASCADE, related_name="responder", verbose_name=_("user")
    )
    mobile = models.CharField(
        max_length=20,
        blank=True,
        help_text=_("For SMS pages, in E.164 (+46701234567)."),
        verbose_name=_("mobile"),
    )
    slack_member_id = models.CharField(
        max_length=20,
        blank=True,
        validators=[
            RegexValidator(r"^[UW][A-Z0-9]{2,19}$", _("A Slack member id looks like U024BE7LH."))
        ],
        help_text=_("Mentioned in Slack pages (Profile → ⋮ → Copy member ID)."),
        verbose_name=_("Slack member id"),
    )

    class Meta:
        verbose_name = _("responder")
        verbose_name_plural = _("responders")

    def __str__(self) -> str:
        return gettext("How to reach %(user)s") % {"user": self.user.get_username()}


class Rotation(TimeStampedModel):
    """Who is on call when: members take turns, handing over on a weekday at a time of day."""

    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    timezone = models.CharField(
        max_length=64,
        default="Europe/Stockholm",
        validators=[validate_timezone],
        verbose_name=_("timezone"),
    )
    handoff_weekday = models.PositiveSmallIntegerField(
        choices=OpeningWindow.Weekday.choices,
        default=OpeningWindow.Weekday.MONDAY,
        verbose_name=_("hand-off weekday"),
    )
    handoff_time = models.TimeField(default=time(9), verbose_name=_("hand-off time"))
    shift_weeks = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("Weeks each member is on call."),
        verbose_name=_("shift weeks"),
    )
    starts_on = models.DateField(
        help_text=_("The first shift starts at the first hand-off on or after this date."),
        verbose_name=_("starts on"),
    )

    class Meta:
        verbose_name = _("rotation")
        verbose_name_plural = _("rotations")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(shift_weeks__gte=1), name="support_rotation_shift_at_least_a_week"
            ),
            models.CheckConstraint(
                condition=Q(handoff_weekday__gte=0, handoff_weekday__lte=6),
                name="support_rotation_handoff_weekday",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RotationMember(models.Model):
    """A member of a rotation; the position is their turn (the next one is the secondary)."""

    rotation = models.ForeignKey(
        Rotation, on_delete=models.CASCADE, related_name="members", verbose_name=_("rotation")
    )
    user = models.ForeignKey(
        "auth.User", on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    position = models.PositiveSmallIntegerField(verbose_name=_("position"))

    class Meta:
        verbose_name = _("rotation member")
        verbose_name_plural = _("rotation members")
        ordering = ["rotation", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["rotation", "position"], name="support_rotationmember_one_per_turn"
            ),
            models.UniqueConstraint(
                fields=["rotation", "user"], name="support_rotationmember_once_per_rotation"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.position})"


class OnCallTier(models.TextChoices):
    PRIMARY = "primary", _("Primary")
    SECONDARY = "secondary", _("Secondary")


class OnCallOverride(TimeStampedModel):
    """For a while, someone else is on call: holiday cover, a swap of shifts."""

    class Reason(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday cover")
        SWAP = "swap", _("Swap")
        OTHER = "other", _("Other")

    rotation = models.ForeignKey(
        Rotation, on_delete=models.CASCADE, related_name="overrides", verbose_name=_("rotation")
    )
    tier = models.CharField(
        max_length=10,
        choices=OnCallTier.choices,
        default=OnCallTier.PRIMARY,
        verbose_name=_("tier"),
    )
    user = models.ForeignKey(
        "auth.User",
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Who is on call instead."),
        verbose_name=_("user"),
    )
    starts_at = models.DateTimeField(verbose_name=_("starts at"))
    ends_at = models.DateTimeField(verbose_name=_("ends at"))
    reason = models.CharField(
        max_length=10, choices=Reason.choices, default=Reason.HOLIDAY, verbose_name=_("reason")
    )
    note = models.CharField(max_length=200, blank=True, verbose_name=_("note"))

    class Meta:
        verbose_name = _("on-call override")
        verbose_name_plural = _("on-call overrides")
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["rotation", "ends_at", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="support_override_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return gettext("%(tier)s of %(rotation)s: %(user)s") % {
            "tier": self.get_tier_display(),
            "rotation": self.rotation,
            "user": self.user.get_username(),
        }


class ChannelRule(models.TextChoices):
    NEVER = "never", _("Never")
    ALWAYS = "always", _("At any hour")
    OUT_OF_HOURS = "out_of_hours", _("Outside business hours only")
    IN_HOURS = "in_hours", _("Business hours only (else in the opening digest)")


def channel_rule_field(default: str, verbose_name: str, help_text: str = "") -> models.CharField:
    return models.CharField(
        verbose_name,
        max_length=12,
        choices=ChannelRule.choices,
        default=default,
        help_text=help_text,
    )


class EscalationPolicy(TimeStampedModel):
    """Who is paged, on which channel and when, for a ticket priority and an incident severity."""

    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    priority = models.CharField(
        max_length=2, choices=Priority.choices, blank=True, verbose_name=_("priority")
    )
    severity = models.CharField(
        max_length=4, choices=Severity.choices, blank=True, verbose_name=_("severity")
    )
    rotation = models.ForeignKey(
        Rotation, on_delete=models.PROTECT, related_name="policies", verbose_name=_("rotation")
    )
    calendar = models.ForeignKey(
        SupportCalendar,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_(
            "Business hours: outside them quiet hours hold e-mails for the opening digest."
        ),
        verbose_name=_("calendar"),
    )
    sla_notice = models.CharField(
        max_length=12,
        choices=[
            (ChannelRule.ALWAYS, ChannelRule.ALWAYS.label),
            (ChannelRule.IN_HOURS, ChannelRule.IN_HOURS.label),
            (ChannelRule.NEVER, ChannelRule.NEVER.label),
        ],
        default=ChannelRule.ALWAYS,
        help_text=_(
            "SLA warnings and breaches, e-mailed to the ticket's owner and the Support "
            "leads (while steps are still to come, the escalation itself pages instead)."
        ),
        verbose_name=_("SLA notice"),
    )

    class Meta:
        verbose_name = _("escalation policy")
        verbose_name_plural = _("escalation policies")
        ordering = ["priority", "severity", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["priority"], condition=~Q(priority=""), name="support_policy_per_priority"
            ),
            models.UniqueConstraint(
                fields=["severity"], condition=~Q(severity=""), name="support_policy_per_severity"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class EscalationStep(models.Model):
    """One rung of a policy: after a delay, page a target on some channels."""

    class Target(models.TextChoices):
        PRIMARY = "primary", _("On-call primary")
        SECONDARY = "secondary", _("On-call secondary")
        LEADS = "leads", _("Support leads")
        OWNER = "owner", _("Ticket assignee / incident commander")

    policy = models.ForeignKey(
        EscalationPolicy, on_delete=models.CASCADE, related_name="steps", verbose_name=_("policy")
    )
    position = models.PositiveSmallIntegerField(verbose_name=_("position"))
    delay_minutes = models.PositiveIntegerField(
        default=0,
        help_text=_("Minutes after the escalation starts, if nobody has acknowledged."),
        verbose_name=_("delay minutes"),
    )
    target = models.CharField(max_length=10, choices=Target.choices, verbose_name=_("target"))
    email = channel_rule_field(ChannelRule.NEVER, verbose_name=_("e-mail"))
    slack = channel_rule_field(ChannelRule.NEVER, verbose_name=_("Slack"))
    sms = channel_rule_field(ChannelRule.NEVER, verbose_name=_("SMS"))

    class Meta:
        verbose_name = _("escalation step")
        verbose_name_plural = _("escalation steps")
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "position"], name="support_escalationstep_one_per_position"
            )
        ]

    def __str__(self) -> str:
        return gettext("Step %(position)d: %(target)s after %(delay)d min") % {
            "position": self.position,
            "target": self.get_target_display(),
            "delay": self.delay_minutes,
        }

    def channel_rules(self) -> dict[str, str]:
        return {"email": self.email, "slack": self.slack, "sms": self.sms}


class Escalation(TimeStampedModel):
    """One run of a policy for a ticket or an incident, from its trigger until acknowledged.

    ``trigger`` names what started it (``opened``, ``priority:<event>``,
    ``firing:<update>``): one escalation per subject and trigger, decided by
    the database, so twins that hand over the same event start one.
    ``next_position``/``next_step_at`` are the step still to come; moving them
    on is a conditional update from the expected position, so each step is
    taken once whoever runs it.
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("Paging")
        WAITING = "waiting", _("Every step taken; not acknowledged")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        STOPPED = "stopped", _("Stopped")

    ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="escalations",
        verbose_name=_("ticket"),
    )
    incident = models.ForeignKey(
        Incident,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="escalations",
        verbose_name=_("incident"),
    )
    trigger = models.CharField(max_length=60, verbose_name=_("trigger"))
    policy = models.ForeignKey(
        EscalationPolicy, on_delete=models.PROTECT, related_name="+", verbose_name=_("policy")
    )
    severity = models.CharField(max_length=4, choices=Severity.choices, verbose_name=_("severity"))
    started_at = models.DateTimeField(verbose_name=_("started at"))
    status = models.CharField(
        max_length=15, choices=Status.choices, default=Status.RUNNING, verbose_name=_("status")
    )
    next_position = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("next position")
    )
    next_step_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next step at"))
    steps_taken = models.PositiveSmallIntegerField(default=0, verbose_name=_("steps taken"))
    escalated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When a later step paged, nobody having acknowledged."),
        verbose_name=_("escalated at"),
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True, verbose_name=_("acknowledged at"))
    acknowledged_by = models.ForeignKey(
        "auth.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    stopped_at = models.DateTimeField(null=True, blank=True, verbose_name=_("stopped at"))
    stop_reason = models.CharField(max_length=100, blank=True, verbose_name=_("stop reason"))

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_step_at"]),
            models.Index(fields=["started_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ticket__isnull=True, incident__isnull=False)
                | Q(ticket__isnull=False, incident__isnull=True),
                name="support_escalation_one_subject",
            ),
            models.UniqueConstraint(
                fields=["ticket", "trigger"],
                condition=Q(ticket__isnull=False),
                name="support_escalation_once_per_ticket_trigger",
            ),
            models.UniqueConstraint(
                fields=["incident", "trigger"],
                condition=Q(incident__isnull=False),
                name="support_escalation_once_per_incident_trigger",
            ),
        ]

    def __str__(self) -> str:
        subject = self.ticket or self.incident
        return gettext("Escalation of %(subject)s (%(trigger)s)") % {
            "subject": subject.reference if subject else "?",
            "trigger": self.trigger,
        }


class Page(models.Model):
    """One message of an escalation to one person on one channel, with its acknowledgement link.

    Unique per escalation, step (``key``), person and channel: each step
    pages each person once. The link in it works once (``link_used_at``).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("In the outbox")
        HELD = "held", _("Held for the opening digest")
        DIGESTED = "digested", _("Sent in a digest")
        UNREACHABLE = "unreachable", _("No address on this channel")
        DROPPED = "dropped", _("Dropped: handled before the digest")

    escalation = models.ForeignKey(
        Escalation, on_delete=models.CASCADE, related_name="pages", verbose_name=_("escalation")
    )
    key = models.CharField(
        max_length=40, help_text=_("step-N, or the SLA mark it tells of."), verbose_name=_("key")
    )
    recipient = models.ForeignKey(
        "auth.User", on_delete=models.CASCADE, related_name="+", verbose_name=_("recipient")
    )
    channel = models.CharField(
        max_length=10, choices=Message.Channel.choices, verbose_name=_("channel")
    )
    status = models.CharField(max_length=12, choices=Status.choices, verbose_name=_("status"))
    message = models.ForeignKey(
        Message,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("message"),
    )
    held_until = models.DateTimeField(null=True, blank=True, verbose_name=_("held until"))
    sent_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When its message went to the outbox: its link's age."),
        verbose_name=_("sent at"),
    )
    link_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("link used at"))
    created_at = models.DateTimeField(db_index=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("page")
        verbose_name_plural = _("pages")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "held_until"])]
        constraints = [
            models.UniqueConstraint(
                fields=["escalation", "key", "recipient", "channel"],
                name="support_page_once_per_step_person_channel",
            )
        ]

    def __str__(self) -> str:
        return gettext("Page %(page)s (%(channel)s, %(status)s)") % {
            "page": self.pk,
            "channel": self.get_channel_display(),
            "status": self.get_status_display(),
        }
