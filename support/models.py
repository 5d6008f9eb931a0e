"""Support: calendars and SLA policies, tickets and their timeline, staff links."""

import zoneinfo
from datetime import date, time

import holidays
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.models import Message, TimeStampedModel
from pilots.models import validate_timezone
from support.business_time import MINUTES_PER_DAY, BusinessCalendar, Window

# Swedish law treats these eves like public holidays for office hours.
HOLIDAY_CATEGORIES = ("public", "de_facto")


class SupportCalendar(TimeStampedModel):
    """When support counts time: weekly windows in one time zone, minus closed days."""

    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    timezone = models.CharField(
        max_length=64,
        default="Europe/Stockholm",
        validators=[validate_timezone],
        verbose_name=_("timezone"),
    )
    holiday_country = models.CharField(
        max_length=2,
        blank=True,
        help_text=_(
            "ISO country code whose public holidays (and days treated as such) are closed."
        ),
        verbose_name=_("holiday country"),
    )

    class Meta:
        verbose_name = _("support calendar")
        verbose_name_plural = _("support calendars")
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
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    calendar = models.ForeignKey(
        SupportCalendar,
        on_delete=models.CASCADE,
        related_name="windows",
        verbose_name=_("calendar"),
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, verbose_name=_("weekday"))
    opens = models.TimeField(verbose_name=_("opens"))
    minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MINUTES_PER_DAY)],
        help_text=_("How long it stays open; past midnight runs into the next day."),
        verbose_name=_("minutes"),
    )

    class Meta:
        verbose_name = _("opening window")
        verbose_name_plural = _("opening windows")
        ordering = ["calendar", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes__gte=1, minutes__lte=MINUTES_PER_DAY),
                name="support_window_length_within_a_day",
            )
        ]

    def __str__(self) -> str:
        return gettext("%(weekday)s %(opens)s for %(minutes)d min") % {
            "weekday": self.get_weekday_display(),
            "opens": f"{self.opens:%H:%M}",
            "minutes": self.minutes,
        }


class ClosedDate(models.Model):
    calendar = models.ForeignKey(
        SupportCalendar,
        on_delete=models.CASCADE,
        related_name="closed_dates",
        verbose_name=_("calendar"),
    )
    day = models.DateField(verbose_name=_("day"))
    reason = models.CharField(max_length=100, blank=True, verbose_name=_("reason"))

    class Meta:
        verbose_name = _("closed date")
        verbose_name_plural = _("closed dates")
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "day"], name="support_closed_date_once")
        ]

    def __str__(self) -> str:
        reason = self.reason or gettext("closed")
        return f"{self.day} ({reason})"


class Priority(models.TextChoices):
    P0 = "P0", _("P0 critical")
    P1 = "P1", _("P1 high")
    P2 = "P2", _("P2 medium")
    P3 = "P3", _("P3 low")


class SLAPolicy(TimeStampedModel):
    """Targets for one priority, counted on a calendar."""

    priority = models.CharField(
        max_length=2, choices=Priority.choices, unique=True, verbose_name=_("priority")
    )
    first_response_minutes = models.PositiveIntegerField(verbose_name=_("first response minutes"))
    resolution_minutes = models.PositiveIntegerField(verbose_name=_("resolution minutes"))
    calendar = models.ForeignKey(
        SupportCalendar,
        on_delete=models.PROTECT,
        related_name="policies",
        verbose_name=_("calendar"),
    )
    warning_share = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=0.75,
        validators=[MinValueValidator(0.1), MaxValueValidator(0.99)],
        help_text=_("Warn when this share of a target's business time has been used."),
        verbose_name=_("warning share"),
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["priority"]
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
        return gettext(
            "%(priority)s: respond in %(response)d min, resolve in %(resolution)d min"
        ) % {
            "priority": self.get_priority_display(),
            "response": self.first_response_minutes,
            "resolution": self.resolution_minutes,
        }


class Urgency(models.IntegerChoices):
    """A ticket's place in the triage order, before its due time (see ``sla.urgency_refresh``)."""

    OPEN_BREACHED = 0, _("Open, breached")
    OPEN = 1, _("Open")
    DONE_BREACHED = 2, _("Done, breached")
    DONE = 3, _("Done")


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
        STAFF_LINK = "staff_link", _("Staff link")
        CUSTOMER = "customer", _("Customer")
        ADMIN = "admin", _("Admin")
        ALERT = "alert", _("Alert")
        SYSTEM = "system", _("System")

    # The staff form's "name or phone" lands in reporter_name: both are contact data.
    CONTACT_FIELDS = ("reporter_name", "reporter_contact")

    reference = models.CharField(
        max_length=20, unique=True, editable=False, verbose_name=_("reference")
    )
    title = models.CharField(max_length=200, verbose_name=_("title"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    business = models.ForeignKey(
        "pilots.Business",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("business"),
    )
    pilot = models.ForeignKey(
        "pilots.Pilot",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("pilot"),
    )
    category = models.CharField(
        max_length=20, choices=Category.choices, default=Category.OTHER, verbose_name=_("category")
    )
    priority = models.CharField(
        max_length=2, choices=Priority.choices, default=Priority.P2, verbose_name=_("priority")
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.NEW, verbose_name=_("status")
    )
    assignee = models.ForeignKey(
        "auth.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
        verbose_name=_("assignee"),
    )
    source = models.CharField(
        max_length=20, choices=Source.choices, default=Source.ADMIN, verbose_name=_("source")
    )
    reporter_name = models.CharField(max_length=100, blank=True, verbose_name=_("reporter name"))
    reporter_contact = models.CharField(
        max_length=254, blank=True, verbose_name=_("reporter contact")
    )
    contact_anonymised_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("contact anonymised at")
    )

    # The SLA clock.
    calendar = models.ForeignKey(
        SupportCalendar, on_delete=models.PROTECT, related_name="+", verbose_name=_("calendar")
    )
    first_response_minutes = models.PositiveIntegerField(verbose_name=_("first response minutes"))
    resolution_minutes = models.PositiveIntegerField(verbose_name=_("resolution minutes"))
    warning_share = models.DecimalField(
        max_digits=3, decimal_places=2, verbose_name=_("warning share")
    )
    clock_started_at = models.DateTimeField(
        help_text=_("Since when both targets count."), verbose_name=_("clock started at")
    )
    response_due_at = models.DateTimeField(verbose_name=_("response due at"))
    resolution_due_at = models.DateTimeField(verbose_name=_("resolution due at"))
    first_response_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("first response at")
    )
    paused_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("Waiting on the reporter since then."),
        verbose_name=_("paused at"),
    )
    # [{"kind": "waiting" | "resolved", "from": ISO instant, "to": ISO instant | null}]
    pauses = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text=_("When the clocks stood still: waiting stops resolution, resolved stops both."),
        verbose_name=_("pauses"),
    )
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    response_warned_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("response warned at")
    )
    response_breached_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("response breached at")
    )
    resolution_warned_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("resolution warned at")
    )
    resolution_breached_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("resolution breached at")
    )
    escalation_level = models.PositiveSmallIntegerField(
        default=0, verbose_name=_("escalation level")
    )
    next_sla_check_at = models.DateTimeField(
        null=True, blank=True, db_index=True, verbose_name=_("next SLA check at")
    )
    # The triage order, kept by the SLA services (support.sla.urgency_refresh).
    urgency_rank = models.PositiveSmallIntegerField(
        choices=Urgency.choices,
        default=Urgency.OPEN,
        editable=False,
        verbose_name=_("urgency rank"),
    )
    urgency_due_at = models.DateTimeField(editable=False, verbose_name=_("urgency due at"))
    dedupe_key = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("Automatic checks open one ticket per key while it is open."),
        verbose_name=_("dedupe key"),
    )

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
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
        CREATED = "created", _("Created")
        ASSIGNED = "assigned", _("Assigned")
        PRIORITY = "priority", _("Priority changed")
        STATUS = "status", _("Status changed")
        REPLY = "reply", _("Public reply")
        NOTE = "note", _("Internal note")
        REPORTER = "reporter", _("Reporter wrote")
        SLA = "sla", _("SLA")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        ESCALATED = "escalated", _("Escalated")

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="events", verbose_name=_("ticket")
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, verbose_name=_("kind"))
    public = models.BooleanField(
        default=False,
        help_text=_("Shown to the reporter (public replies and status changes)."),
        verbose_name=_("public"),
    )
    author = models.ForeignKey(
        "auth.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    body = models.TextField(blank=True, verbose_name=_("body"))
    sla_mark = models.CharField(
        max_length=40,
        blank=True,
        help_text=_("For SLA events: metric and level, e.g. 'resolution:breach'. Once per ticket."),
        verbose_name=_("SLA mark"),
    )
    data = models.JSONField(default=dict, blank=True, verbose_name=_("data"))
    created_at = models.DateTimeField(db_index=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "sla_mark"],
                condition=~Q(sla_mark=""),
                name="support_ticketevent_sla_mark_once",
            )
        ]

    def __str__(self) -> str:
        return gettext("%(kind)s on %(ticket)s") % {
            "kind": self.get_kind_display(),
            "ticket": self.ticket_id,
        }


class TicketPhoto(models.Model):
    """A photo café staff attached to their report (support/photos.py cleans it).

    Kept in the database beside its ticket, never under a public path; the
    admin shows it to staff who may view the ticket.
    """

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, related_name="photo", verbose_name=_("ticket")
    )
    content = models.BinaryField(
        help_text=_("Re-encoded without EXIF or other metadata."), verbose_name=_("content")
    )
    content_type = models.CharField(
        max_length=20,
        choices=[("image/jpeg", "JPEG"), ("image/png", "PNG")],
        verbose_name=_("content type"),
    )
    width = models.PositiveIntegerField(verbose_name=_("width"))
    height = models.PositiveIntegerField(verbose_name=_("height"))
    byte_size = models.PositiveIntegerField(verbose_name=_("byte size"))
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        verbose_name = _("ticket photo")
        verbose_name_plural = _("ticket photos")

    def __str__(self) -> str:
        return gettext("Photo of %(ticket)s (%(width)d×%(height)d)") % {
            "ticket": self.ticket_id,
            "width": self.width,
            "height": self.height,
        }


class CannedReply(TimeStampedModel):
    """A prepared reply an agent starts from, for one category of ticket or for all.

    ``{business}``, ``{reference}`` and ``{reporter}`` in the text are filled
    in from the ticket when the agent picks it (``support.selectors``).
    """

    PLACEHOLDERS = ("{business}", "{reference}", "{reporter}")

    title = models.CharField(max_length=100, verbose_name=_("title"))
    category = models.CharField(
        max_length=20,
        choices=Ticket.Category.choices,
        blank=True,
        help_text=_("Offered on tickets of this category; empty: on every ticket."),
        verbose_name=_("category"),
    )
    body = models.TextField(
        help_text=_("Placeholders: {business}, {reference}, {reporter}."), verbose_name=_("body")
    )

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["category", "title"]

    def __str__(self) -> str:
        return self.title


class StaffLink(TimeStampedModel):
    """The printed link café staff use to report problems; revocable like a QR code."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        REVOKED = "revoked", _("Revoked")

    business = models.ForeignKey(
        "pilots.Business",
        on_delete=models.PROTECT,
        related_name="staff_links",
        verbose_name=_("business"),
    )
    token = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("token"))
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.ACTIVE, verbose_name=_("status")
    )
    revoked_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("revoked at")
    )

    class Meta:
        verbose_name = _("staff link")
        verbose_name_plural = _("staff links")
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
        return gettext("Staff link of %(business)s") % {"business": self.business.name}

    @property
    def public_url(self) -> str:
        return settings.PUBLIC_BASE_URL + reverse("support:staff-link", args=[self.token])


class Severity(models.TextChoices):
    SEV1 = "SEV1", _("SEV1 critical")
    SEV2 = "SEV2", _("SEV2 major")
    SEV3 = "SEV3", _("SEV3 minor")
    SEV4 = "SEV4", _("SEV4 low")


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
        INVESTIGATING = "investigating", _("Investigating")
        IDENTIFIED = "identified", _("Identified")
        MONITORING = "monitoring", _("Monitoring")
        RESOLVED = "resolved", _("Resolved")

    reference = models.CharField(
        max_length=20, unique=True, editable=False, verbose_name=_("reference")
    )
    title = models.CharField(max_length=200, verbose_name=_("title"))
    severity = models.CharField(
        max_length=4, choices=Severity.choices, default=Severity.SEV3, verbose_name=_("severity")
    )
    status = models.CharField(
        max_length=20,
        choices=Status.choices,
        default=Status.INVESTIGATING,
        db_index=True,
        verbose_name=_("status"),
    )
    commander = models.ForeignKey(
        "auth.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="incidents",
        verbose_name=_("commander"),
    )
    businesses = models.ManyToManyField(
        "pilots.Business",
        blank=True,
        related_name="incidents",
        verbose_name=_("affected businesses"),
    )
    tickets = models.ManyToManyField(
        Ticket, blank=True, related_name="incidents", verbose_name=_("tickets")
    )
    detected_at = models.DateTimeField(verbose_name=_("detected at"))
    acknowledged_at = models.DateTimeField(null=True, blank=True, verbose_name=_("acknowledged at"))
    mitigated_at = models.DateTimeField(null=True, blank=True, verbose_name=_("mitigated at"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    summary = models.TextField(
        blank=True,
        help_text=_("Postmortem: what happened, in a few lines."),
        verbose_name=_("summary"),
    )
    impact = models.TextField(
        blank=True,
        help_text=_("Postmortem: who was affected, how, and for how long."),
        verbose_name=_("impact"),
    )
    root_cause = models.TextField(blank=True, verbose_name=_("root cause"))
    corrective_actions = models.TextField(
        blank=True,
        help_text=_("Notes; each action to take is opened as a ticket below."),
        verbose_name=_("corrective actions"),
    )
    alert_fingerprint = models.CharField(
        max_length=64, blank=True, db_index=True, verbose_name=_("alert fingerprint")
    )
    alert_status = models.CharField(
        max_length=10,
        blank=True,
        help_text=_("The last state Alertmanager reported."),
        verbose_name=_("alert status"),
    )
    expected_downtime_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_(
            "How long the affected cafés should expect to be down. Over 15 minutes, "
            "each affected café's contact is told once, and again when it is resolved."
        ),
        verbose_name=_("expected downtime minutes"),
    )

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
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

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="actions", verbose_name=_("incident")
    )
    description = models.CharField(max_length=200, verbose_name=_("description"))
    owner = models.ForeignKey(
        "auth.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("owner")
    )
    due_on = models.DateField(verbose_name=_("due on"))
    ticket = models.OneToOneField(
        Ticket,
        on_delete=models.PROTECT,
        related_name="corrective_action",
        editable=False,
        verbose_name=_("ticket"),
    )

    class Meta:
        verbose_name = _("corrective action")
        verbose_name_plural = _("corrective actions")
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.description


class IncidentUpdate(models.Model):
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="updates", verbose_name=_("incident")
    )
    status = models.CharField(
        max_length=20, choices=Incident.Status.choices, verbose_name=_("status")
    )
    public = models.BooleanField(default=False, verbose_name=_("public"))
    author = models.ForeignKey(
        "auth.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    body = models.TextField(verbose_name=_("body"))
    next_update_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When the next update is promised; affected cafés see it with a public update."
        ),
        verbose_name=_("next update at"),
    )
    # For lines the system writes: a ``kind`` and its values, shown in the reader's language.
    data = models.JSONField(default=dict, blank=True, editable=False, verbose_name=_("data"))
    created_at = models.DateTimeField(db_index=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("incident update")
        verbose_name_plural = _("incident updates")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.get_status_display()}"


# ------------------------------------------------------------------------------
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


class CafeNotice(models.Model):
    """A café told about an incident that affects it: once when it starts, once when resolved."""

    class Kind(models.TextChoices):
        OUTAGE = "outage", _("Outage")
        RESTORED = "restored", _("Restored")

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="cafe_notices", verbose_name=_("incident")
    )
    business = models.ForeignKey(
        "pilots.Business", on_delete=models.CASCADE, related_name="+", verbose_name=_("business")
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, verbose_name=_("kind"))
    message = models.ForeignKey(
        Message,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("message"),
    )
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        verbose_name = _("café notice")
        verbose_name_plural = _("café notices")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "business", "kind"], name="support_cafenotice_once"
            )
        ]

    def __str__(self) -> str:
        return gettext("%(kind)s notice of %(incident)s to %(business)s") % {
            "kind": self.get_kind_display(),
            "incident": self.incident_id,
            "business": self.business_id,
        }
