"""A data subject request: one person's contact, what was found about it, and what was done.

The contact itself is kept only while the request is open (the free text that
mentions it can be found only by the contact, not by its hash); erasing
clears it, and the keyed hash stays so the record can be matched later.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import TimeStampedModel


class DataRequest(TimeStampedModel):
    class Source(models.TextChoices):
        ADMIN = "admin", "Entered by staff"
        SELF_SERVICE = "self_service", "Asked on the privacy page"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ERASURE_ASKED = "erasure_asked", "Erasure asked by the person"
        ERASED = "erased", "Erased"
        CLOSED = "closed", "Closed without erasure"

    class Language(models.TextChoices):
        SWEDISH = "sv", "Svenska"
        ENGLISH = "en", "English"

    CONTACT_FIELDS = ("contact",)

    contact = models.CharField(
        max_length=254,
        blank=True,
        help_text="The e-mail address or E.164 number; cleared once erased or closed.",
    )
    contact_hash = models.CharField(max_length=64, db_index=True)
    contact_masked = models.CharField(max_length=254, blank=True, editable=False)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.SWEDISH)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.ADMIN)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    identity_check = models.TextField(
        blank=True,
        help_text="How the person's identity was checked (the operator's note); for a "
        "self-service request, the link sent to the contact proved it.",
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who entered it; empty when the person asked on the privacy page.",
    )
    found = models.JSONField(
        default=dict, blank=True, help_text="What was held when it was last looked up, by kind."
    )
    found_at = models.DateTimeField(null=True, blank=True)
    erasure_asked_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    done = models.JSONField(default=dict, blank=True, help_text="What erasing changed, by kind.")
    kept = models.JSONField(
        default=list, blank=True, help_text="What was kept after erasing, and the reason."
    )
    link_used_at = models.DateTimeField(
        null=True, blank=True, help_text="When the self-service link was opened (it works once)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "data subject request"
        indexes = [models.Index(fields=["status", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="erased") | Q(erased_at__isnull=False, contact=""),
                name="privacy_datarequest_erased_has_no_contact",
            )
        ]

    def __str__(self) -> str:
        return f"Data request {self.pk} ({self.contact_masked})"
