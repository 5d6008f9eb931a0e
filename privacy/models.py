"""A data subject request: one person's contact, what was found about it, and what was done.

The contact itself is kept only while the request is open (the free text that
mentions it can be found only by the contact, not by its hash); erasing
clears it, and the keyed hash stays so the record can be matched later.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel


class DataRequest(TimeStampedModel):
    class Source(models.TextChoices):
        ADMIN = "admin", _("Entered by staff")
        SELF_SERVICE = "self_service", _("Asked on the privacy page")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ERASURE_ASKED = "erasure_asked", _("Erasure asked by the person")
        ERASED = "erased", _("Erased")
        CLOSED = "closed", _("Closed without erasure")

    class Language(models.TextChoices):
        SWEDISH = "sv", _("Svenska")
        ENGLISH = "en", _("English")

    CONTACT_FIELDS = ("contact",)

    contact = models.CharField(
        _("contact"),
        max_length=254,
        blank=True,
        help_text=_("The e-mail address or E.164 number; cleared once erased or closed."),
    )
    contact_hash = models.CharField(_("contact hash"), max_length=64, db_index=True)
    contact_masked = models.CharField(
        _("contact masked"), max_length=254, blank=True, editable=False
    )
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.SWEDISH
    )
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.ADMIN
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.OPEN
    )
    identity_check = models.TextField(
        _("identity check"),
        blank=True,
        help_text=_(
            "How the person's identity was checked (the operator's note); for a "
            "self-service request, the link sent to the contact proved it."
        ),
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Who entered it; empty when the person asked on the privacy page."),
        verbose_name=_("opened by"),
    )
    found = models.JSONField(
        _("found"),
        default=dict,
        blank=True,
        help_text=_("What was held when it was last looked up, by kind."),
    )
    found_at = models.DateTimeField(_("found at"), null=True, blank=True)
    erasure_asked_at = models.DateTimeField(_("erasure asked at"), null=True, blank=True)
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("erased by"),
    )
    done = models.JSONField(
        _("done"), default=dict, blank=True, help_text=_("What erasing changed, by kind.")
    )
    kept = models.JSONField(
        _("kept"),
        default=list,
        blank=True,
        help_text=_("What was kept after erasing, and the reason."),
    )
    link_used_at = models.DateTimeField(
        _("link used at"),
        null=True,
        blank=True,
        help_text=_("When the self-service link was opened (it works once)."),
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("data subject request")
        verbose_name_plural = _("data subject requests")
        indexes = [models.Index(fields=["status", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="erased") | Q(erased_at__isnull=False, contact=""),
                name="privacy_datarequest_erased_has_no_contact",
            )
        ]

    def __str__(self) -> str:
        return gettext("Data request %(id)s (%(contact)s)") % {
            "id": self.pk,
            "contact": self.contact_masked,
        }
