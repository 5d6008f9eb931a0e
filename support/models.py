"""Support: calendars and SLA policies, tickets and their timeline, staff links."""

import zoneinfo
from datetime import date, time

import holidays
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.models import Message, TimeStampedModel
from pilots.models import validate_timezone
from support.business_time import MINUTES_PER_DAY, BusinessCalendar, Window

# Swedish law treats these eves like public holidays for office hours.
HOLIDAY_CATEGORIES = ("public", "de_facto")


class SupportCalendar(TimeStampedModel):
    """When support counts time: weekly windows in one time zone, minus closed days."""

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(
        max_length=64, default="Europe/Stockholm", validators=[validate_timezone]
    )
    holiday_country = models.CharField(
        max_length=2,
        blank=True,
        help_text="ISO country code whose public holidays (and days treated as such) are closed.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def business_calendar(self) -> BusinessCalendar:
        """The pure calendar the SLA arithmetic runs on (cached until the calendar changes)."""
        key = (self.pk, self.updated_at)
        if key not in _CALENDAR_CACHE:
            _CALENDAR_CACHE[key] = self._business_calendar()
        return _CALENDAR_CACHE[key]

    def _business_calendar(self) -> BusinessCalendar:
        windows = tuple(Window(w.weekday, w.opens, w.minutes) for w in self.windows.all())
        closed = set(self.closed_dates.values_list("day", flat=True))
        country = self.holiday_country

        def is_closed(day: date) -> bool:
            return day in closed or (bool(country) and day in _holidays(country, day.year))

        return BusinessCalendar(zoneinfo.ZoneInfo(self.timezone), windows, is_closed)


_HOLIDAY_CACHE: dict[tuple[str, int], holidays.HolidayBase] = {}
_CALENDAR_CACHE: dict[tuple, BusinessCalendar] = {}


def _holidays(country: str, year: int) -> holidays.HolidayBase:
    key = (country, year)
    if key not in _HOLIDAY_CACHE:
        _HOLIDAY_CACHE[key] = holidays.country_holidays(
            country, years=year, categories=HOLIDAY_CATEGORIES
        )
    return _HOLIDAY_CACHE[key]


class OpeningWindow(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    calendar = models.ForeignKey(SupportCalendar, on_delete=models.CASCADE, related_name="windows")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MINUTES_PER_DAY)],
        help_text="How long it stays open; past midnight runs into the next day.",
    )

    class Meta:
        ordering = ["calendar", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes__gte=1, minutes__lte=MINUTES_PER_DAY),
                name="support_window_length_within_a_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M} for {self.minutes} min"


class ClosedDate(models.Model):
    calendar = models.ForeignKey(
        SupportCalendar, on_delete=models.CASCADE, related_name="closed_dates"
    )
    day = models.DateField()
    reason = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "day"], name="support_closed_date_once")
        ]

    def __str__(self) -> str:
        return f"{self.day} ({self.reason or 'closed'})"


class Priority(models.TextChoices):
    P0 = "P0", "P0 critical"
    P1 = "P1", "P1 high"
    P2 = "P2", "P2 medium"
    P3 = "P3", "P3 low"


class SLAPolicy(TimeStampedModel):
    """Targets for one priority, counted on a calendar."""

    priority = models.CharField(max_length=2, choices=Priority.choices, unique=True)
    first_response_minutes = models.PositiveIntegerField()
    resolution_minutes = models.PositiveIntegerField()
    calendar = models.ForeignKey(SupportCalendar, on_delete=models.PROTECT, related_name="policies")
    warning_share = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=0.75,
        validators=[MinValueValidator(0.1), MaxValueValidator(0.99)],
        help_text="Warn when this share of a target's business time has been used.",
    )

    class Meta:
        ordering = ["priority"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(first_response_minutes__gt=0, resolution_minutes__gt=0),
                name="support_policy_targets_positive",
            ),
            models.CheckConstraint(
                condition=Q(warning_share__gt=0, warning_share__lt=1),
                name="support_policy_warning_share_between_0_and_1",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_priority_display()}: respond in {self.first_response_minutes} min, "
            f"resolve in {self.resolution_minutes} min"
        )


class Urgency(models.IntegerChoices):
    """A ticket's place in the triage order, before its due time (see ``sla.urgency_refresh``)."""

    OPEN_BREACHED = 0, "Open, breached"
    OPEN = 1, "Open"
    DONE_BREACHED = 2, "Done, breached"
    DONE = 3, "Done"


class Ticket(TimeStampedModel):
    """A support case with its SLA clock stored on the row.

    ``response_due_at`` and ``resolution_due_at`` are instants computed in the
    policy's business time (rules in ``support.sla``); the policy's targets
    and calendar are copied here when the clock starts or the priority
    changes, so a later policy edit never rewrites a running ticket's
    history. ``next_sla_check_at`` is the one instant the sweeper needs: the
    earliest warning or breach still to mark (empty when nothing is left to
    watch).
    """

    # Labels are translated: café staff see them on their staff link page.
    class Status(models.TextChoices):
        NEW = "new", _("New")
        TRIAGED = "triaged", _("Triaged")
        IN_PROGRESS = "in_progress", _("In progress")
        WAITING = "waiting", _("Waiting on reporter")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

    OPEN_STATUSES = (Status.NEW, Status.TRIAGED, Status.IN_PROGRESS, Status.WAITING)

    class Category(models.TextChoices):
        QR_CODE = "qr_code", _("QR code not working")
        FEEDBACK_FORM = "feedback_form", _("Customer could not finish feedback")
        REWARD = "reward", _("Customer did not get reward")
        OUTAGE = "outage", _("System slow or down")
        PILOT_HEALTH = "pilot_health", _("Pilot health")
        PAYMENTS = "payments", _("Payments")
        OTHER = "other", _("Other")

    class Source(models.TextChoices):
        STAFF_LINK = "staff_link", "Staff link"
        CUSTOMER = "customer", "Customer"
        ADMIN = "admin", "Admin"
        ALERT = "alert", "Alert"
        SYSTEM = "system", "System"

    # The staff form's "name or phone" lands in reporter_name: both are contact data.
    CONTACT_FIELDS = ("reporter_name", "reporter_contact")

    reference = models.CharField(max_length=20, unique=True, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    business = models.ForeignKey(
        "pilots.Business", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    pilot = models.ForeignKey(
        "pilots.Pilot", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.OTHER)
    priority = models.CharField(max_length=2, choices=Priority.choices, default=Priority.P2)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    assignee = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.ADMIN)
    reporter_name = models.CharField(max_length=100, blank=True)
    reporter_contact = models.CharField(max_length=254, blank=True)
    contact_anonymised_at = models.DateTimeField(null=True, blank=True, editable=False)

    # The SLA clock.
    calendar = models.ForeignKey(SupportCalendar, on_delete=models.PROTECT, related_name="+")
    first_response_minutes = models.PositiveIntegerField()
    resolution_minutes = models.PositiveIntegerField()
    warning_share = models.DecimalField(max_digits=3, decimal_places=2)
    clock_started_at = models.DateTimeField(help_text="Since when both targets count.")
    response_due_at = models.DateTimeField()
    resolution_due_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(
        null=True, blank=True, help_text="Waiting on the reporter since then."
    )
    # [{"kind": "waiting" | "resolved", "from": ISO instant, "to": ISO instant | null}]
    pauses = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="When the clocks stood still: waiting stops resolution, resolved stops both.",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    response_warned_at = models.DateTimeField(null=True, blank=True)
    response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_warned_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    next_sla_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The triage order, kept by the SLA services (support.sla.urgency_refresh).
    urgency_rank = models.PositiveSmallIntegerField(
        choices=Urgency.choices, default=Urgency.OPEN, editable=False
    )
    urgency_due_at = models.DateTimeField(editable=False)
    dedupe_key = models.CharField(
        max_length=100,
        blank=True,
        help_text="Automatic checks open one ticket per key while it is open.",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "resolution_due_at"]),
            models.Index(fields=["business", "status"]),
            models.Index(fields=["assignee", "status"]),
            models.Index(
                fields=["urgency_rank", "urgency_due_at", "id"], name="support_ticket_triage"
            ),
            models.Index(
                fields=["assignee", "urgency_rank", "urgency_due_at", "id"],
                name="support_ticket_triage_mine",
            ),
            # The dashboard's and the reports' counts read only what they count
            # (by the open statuses named: SQLite uses no partial index when the
            # condition's values come as parameters).
            models.Index(fields=["status", "priority"], name="support_ticket_status_prio"),
            models.Index(
                fields=["response_breached_at"],
                condition=Q(response_breached_at__isnull=False),
                name="support_ticket_resp_breach",
            ),
            models.Index(
                fields=["resolution_breached_at"],
                condition=Q(resolution_breached_at__isnull=False),
                name="support_ticket_reso_breach",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=~Q(dedupe_key="") & ~Q(status__in=["resolved", "closed"]),
                name="support_ticket_one_open_per_dedupe_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_breached(self) -> bool:
        return bool(self.response_breached_at or self.resolution_breached_at)


class TicketEvent(models.Model):
    """One line of a ticket's timeline: a change, a reply, a note, an SLA mark."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        ASSIGNED = "assigned", "Assigned"
        PRIORITY = "priority", "Priority changed"
        STATUS = "status", "Status changed"
        REPLY = "reply", "Public reply"
        NOTE = "note", "Internal note"
        REPORTER = "reporter", "Reporter wrote"
        SLA = "sla", "SLA"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        ESCALATED = "escalated", "Escalated"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    public = models.BooleanField(
        default=False, help_text="Shown to the reporter (public replies and status changes)."
    )
    author = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(blank=True)
    sla_mark = models.CharField(
        max_length=40,
        blank=True,
        help_text="For SLA events: metric and level, e.g. 'resolution:breach'. Once per ticket.",
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "sla_mark"],
                condition=~Q(sla_mark=""),
                name="support_ticketevent_sla_mark_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket_id}"


class TicketPhoto(models.Model):
    """A photo café staff attached to their report (support/photos.py cleans it).

    Kept in the database beside its ticket, never under a public path; the
    admin shows it to staff who may view the ticket.
    """

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="photo")
    content = models.BinaryField(help_text="Re-encoded without EXIF or other metadata.")
    content_type = models.CharField(
        max_length=20, choices=[("image/jpeg", "JPEG"), ("image/png", "PNG")]
    )
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    byte_size = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Photo of {self.ticket_id} ({self.width}×{self.height})"


class CannedReply(TimeStampedModel):
    """A prepared reply an agent starts from, for one category of ticket or for all.

    ``{business}``, ``{reference}`` and ``{reporter}`` in the text are filled
    in from the ticket when the agent picks it (``support.selectors``).
    """

    PLACEHOLDERS = ("{business}", "{reference}", "{reporter}")

    title = models.CharField(max_length=100)
    category = models.CharField(
        max_length=20,
        choices=Ticket.Category.choices,
        blank=True,
        help_text="Offered on tickets of this category; empty: on every ticket.",
    )
    body = models.TextField(help_text="Placeholders: {business}, {reference}, {reporter}.")

    class Meta:
        ordering = ["category", "title"]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return self.title


class StaffLink(TimeStampedModel):
    """The printed link café staff use to report problems; revocable like a QR code."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REVOKED = "revoked", "Revoked"

    business = models.ForeignKey(
        "pilots.Business", on_delete=models.PROTECT, related_name="staff_links"
    )
    token = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["business__name", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["business"],
                condition=Q(status="active"),
                name="support_stafflink_one_active_per_business",
            )
        ]

    def __str__(self) -> str:
        # Never the token: this text lands in admin history and messages.
        return f"Staff link of {self.business.name}"

    @property
    def public_url(self) -> str:
        return settings.PUBLIC_BASE_URL + reverse("support:staff-link", args=[self.token])


class Severity(models.TextChoices):
    SEV1 = "SEV1", "SEV1 critical"
    SEV2 = "SEV2", "SEV2 major"
    SEV3 = "SEV3", "SEV3 minor"
    SEV4 = "SEV4", "SEV4 low"


# The severity a ticket's priority stands for (an incident declared from it, on-call reports).
PRIORITY_SEVERITY = {
    Priority.P0: Severity.SEV1,
    Priority.P1: Severity.SEV2,
    Priority.P2: Severity.SEV3,
    Priority.P3: Severity.SEV4,
}


class Incident(TimeStampedModel):
    """Something is broken for many: severity, a commander, a timeline and a postmortem."""

    class Status(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"

    reference = models.CharField(max_length=20, unique=True, editable=False)
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=4, choices=Severity.choices, default=Severity.SEV3)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.INVESTIGATING, db_index=True
    )
    commander = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    businesses = models.ManyToManyField(
        "pilots.Business", blank=True, related_name="incidents", verbose_name="affected businesses"
    )
    tickets = models.ManyToManyField(Ticket, blank=True, related_name="incidents")
    detected_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    summary = models.TextField(blank=True, help_text="Postmortem: what happened, in a few lines.")
    impact = models.TextField(
        blank=True, help_text="Postmortem: who was affected, how, and for how long."
    )
    root_cause = models.TextField(blank=True)
    corrective_actions = models.TextField(
        blank=True, help_text="Notes; each action to take is opened as a ticket below."
    )
    alert_fingerprint = models.CharField(max_length=64, blank=True, db_index=True)
    alert_status = models.CharField(
        max_length=10, blank=True, help_text="The last state Alertmanager reported."
    )
    expected_downtime_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="How long the affected cafés should expect to be down. Over 15 minutes, "
        "each affected café's contact is told once, and again when it is resolved.",
    )

    class Meta:
        ordering = ["-detected_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert_fingerprint"],
                condition=~Q(alert_fingerprint="") & ~Q(status="resolved"),
                name="support_incident_one_open_per_alert",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"


class CorrectiveAction(TimeStampedModel):
    """One thing to change after an incident, with an owner and a due date, tracked as a ticket."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="actions")
    description = models.CharField(max_length=200)
    owner = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField()
    ticket = models.OneToOneField(
        Ticket, on_delete=models.PROTECT, related_name="corrective_action", editable=False
    )

    class Meta:
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.description


class IncidentUpdate(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=20, choices=Incident.Status.choices)
    public = models.BooleanField(default=False)
    author = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    next_update_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the next update is promised; affected cafés see it with a public update.",
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.status}"


# ------------------------------------------------------------------------------
# On call
# ------------------------------------------------------------------------------
class Responder(TimeStampedModel):
    """How a member of staff is reached when paged, besides their e-mail address."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="responder")
    mobile = models.CharField(
        max_length=20, blank=True, help_text="For SMS pages, in E.164 (+46701234567)."
    )
    slack_member_id = models.CharField(
        max_length=20,
        blank=True,
        validators=[
            RegexValidator(r"^[UW][A-Z0-9]{2,19}$", "A Slack member id looks like U024BE7LH.")
        ],
        help_text="Mentioned in Slack pages (Profile → ⋮ → Copy member ID).",
    )

    def __str__(self) -> str:
        return f"How to reach {self.user.get_username()}"


class Rotation(TimeStampedModel):
    """Who is on call when: members take turns, handing over on a weekday at a time of day."""

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(
        max_length=64, default="Europe/Stockholm", validators=[validate_timezone]
    )
    handoff_weekday = models.PositiveSmallIntegerField(
        choices=OpeningWindow.Weekday.choices, default=OpeningWindow.Weekday.MONDAY
    )
    handoff_time = models.TimeField(default=time(9))
    shift_weeks = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="Weeks each member is on call."
    )
    starts_on = models.DateField(
        help_text="The first shift starts at the first hand-off on or after this date."
    )

    class Meta:
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

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
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
    PRIMARY = "primary", "Primary"
    SECONDARY = "secondary", "Secondary"


class OnCallOverride(TimeStampedModel):
    """For a while, someone else is on call: holiday cover, a swap of shifts."""

    class Reason(models.TextChoices):
        HOLIDAY = "holiday", "Holiday cover"
        SWAP = "swap", "Swap"
        OTHER = "other", "Other"

    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="overrides")
    tier = models.CharField(max_length=10, choices=OnCallTier.choices, default=OnCallTier.PRIMARY)
    user = models.ForeignKey(
        "auth.User", on_delete=models.CASCADE, related_name="+", help_text="Who is on call instead."
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=10, choices=Reason.choices, default=Reason.HOLIDAY)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["rotation", "ends_at", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="support_override_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_tier_display()} of {self.rotation}: {self.user.get_username()}"


class ChannelRule(models.TextChoices):
    NEVER = "never", "Never"
    ALWAYS = "always", "At any hour"
    OUT_OF_HOURS = "out_of_hours", "Outside business hours only"
    IN_HOURS = "in_hours", "Business hours only (else in the opening digest)"


def channel_rule_field(default: str, help_text: str = "") -> models.CharField:
    return models.CharField(
        max_length=12, choices=ChannelRule.choices, default=default, help_text=help_text
    )


class EscalationPolicy(TimeStampedModel):
    """Who is paged, on which channel and when, for a ticket priority and an incident severity."""

    name = models.CharField(max_length=100, unique=True)
    priority = models.CharField(max_length=2, choices=Priority.choices, blank=True)
    severity = models.CharField(max_length=4, choices=Severity.choices, blank=True)
    rotation = models.ForeignKey(Rotation, on_delete=models.PROTECT, related_name="policies")
    calendar = models.ForeignKey(
        SupportCalendar,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Business hours: outside them quiet hours hold e-mails for the opening digest.",
    )
    sla_notice = models.CharField(
        max_length=12,
        choices=[
            (ChannelRule.ALWAYS, ChannelRule.ALWAYS.label),
            (ChannelRule.IN_HOURS, ChannelRule.IN_HOURS.label),
            (ChannelRule.NEVER, ChannelRule.NEVER.label),
        ],
        default=ChannelRule.ALWAYS,
        help_text="SLA warnings and breaches, e-mailed to the ticket's owner and the Support "
        "leads (while steps are still to come, the escalation itself pages instead).",
    )

    class Meta:
        ordering = ["priority", "severity", "name"]
        verbose_name_plural = "escalation policies"
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
        PRIMARY = "primary", "On-call primary"
        SECONDARY = "secondary", "On-call secondary"
        LEADS = "leads", "Support leads"
        OWNER = "owner", "Ticket assignee / incident commander"

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    delay_minutes = models.PositiveIntegerField(
        default=0, help_text="Minutes after the escalation starts, if nobody has acknowledged."
    )
    target = models.CharField(max_length=10, choices=Target.choices)
    email = channel_rule_field(ChannelRule.NEVER)
    slack = channel_rule_field(ChannelRule.NEVER)
    sms = channel_rule_field(ChannelRule.NEVER)

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "position"], name="support_escalationstep_one_per_position"
            )
        ]

    def __str__(self) -> str:
        return f"Step {self.position}: {self.get_target_display()} after {self.delay_minutes} min"

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
        RUNNING = "running", "Paging"
        WAITING = "waiting", "Every step taken; not acknowledged"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        STOPPED = "stopped", "Stopped"

    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="escalations"
    )
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="escalations"
    )
    trigger = models.CharField(max_length=60)
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.PROTECT, related_name="+")
    severity = models.CharField(max_length=4, choices=Severity.choices)
    started_at = models.DateTimeField()
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.RUNNING)
    next_position = models.PositiveSmallIntegerField(null=True, blank=True)
    next_step_at = models.DateTimeField(null=True, blank=True)
    steps_taken = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(
        null=True, blank=True, help_text="When a later step paged, nobody having acknowledged."
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=100, blank=True)

    class Meta:
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
        return f"Escalation of {subject.reference if subject else '?'} ({self.trigger})"


class Page(models.Model):
    """One message of an escalation to one person on one channel, with its acknowledgement link.

    Unique per escalation, step (``key``), person and channel: each step
    pages each person once. The link in it works once (``link_used_at``).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "In the outbox"
        HELD = "held", "Held for the opening digest"
        DIGESTED = "digested", "Sent in a digest"
        UNREACHABLE = "unreachable", "No address on this channel"
        DROPPED = "dropped", "Dropped: handled before the digest"

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="pages")
    key = models.CharField(max_length=40, help_text="step-<n>, or the SLA mark it tells of.")
    recipient = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=Message.Channel.choices)
    status = models.CharField(max_length=12, choices=Status.choices)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    held_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When its message went to the outbox: its link's age."
    )
    link_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "held_until"])]
        constraints = [
            models.UniqueConstraint(
                fields=["escalation", "key", "recipient", "channel"],
                name="support_page_once_per_step_person_channel",
            )
        ]

    def __str__(self) -> str:
        return f"Page {self.pk} ({self.get_channel_display()}, {self.get_status_display()})"


class CafeNotice(models.Model):
    """A café told about an incident that affects it: once when it starts, once when resolved."""

    class Kind(models.TextChoices):
        OUTAGE = "outage", "Outage"
        RESTORED = "restored", "Restored"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="cafe_notices")
    business = models.ForeignKey("pilots.Business", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "business", "kind"], name="support_cafenotice_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} notice of {self.incident_id} to {self.business_id}"
