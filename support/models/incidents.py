"""Incidents: severity, the timeline of updates, corrective actions and the notices cafés get."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.models import Message, TimeStampedModel
from support.models.tickets import Priority, Ticket


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
