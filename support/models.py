"""Support: calendars and SLA policies, tickets and their timeline, staff links."""

import zoneinfo
from datetime import date

import holidays
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
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
    policy's business time; the policy's targets and calendar are copied here
    when the clock starts or the priority changes, so a later policy edit
    never rewrites a running ticket's history. ``next_sla_check_at`` is the
    one instant the sweeper needs: the earliest warning or breach still to
    mark (empty when nothing is left to watch).
    """

    # Labels are translated: café staff see them on their staff link page.
    class Status(models.TextChoices):
        NEW = "new", _("New")
        TRIAGED = "triaged", _("Triaged")
        IN_PROGRESS = "in_progress", _("In progress")
        WAITING = "waiting", _("Waiting on reporter")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

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
    clock_started_at = models.DateTimeField(
        help_text="Since when the current targets count (creation or the last priority change)."
    )
    response_used_minutes = models.PositiveIntegerField(
        default=0, help_text="Business minutes of the response target used before the clock start."
    )
    resolution_used_minutes = models.PositiveIntegerField(
        default=0,
        help_text="Business minutes of the resolution target used before the clock start.",
    )
    response_due_at = models.DateTimeField()
    resolution_due_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(
        null=True, blank=True, help_text="The resolution clock stands still since then."
    )
    paused_minutes = models.PositiveIntegerField(
        default=0, help_text="Business minutes the resolution clock has stood still so far."
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
        return self.status not in (self.Status.RESOLVED, self.Status.CLOSED)

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
    root_cause = models.TextField(blank=True)
    corrective_actions = models.TextField(blank=True)
    alert_fingerprint = models.CharField(max_length=64, blank=True, db_index=True)
    alert_status = models.CharField(
        max_length=10, blank=True, help_text="The last state Alertmanager reported."
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


class IncidentUpdate(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=20, choices=Incident.Status.choices)
    public = models.BooleanField(default=False)
    author = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.status}"
