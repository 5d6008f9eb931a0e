"""Tickets: SLA policies by priority, the ticket and its timeline and photos, canned replies and
the cafés' staff links."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from support.models.calendars import SupportCalendar


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
