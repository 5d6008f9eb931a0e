"""A backup: one dump file and its manifest in BACKUP_DIR, and what restoring it showed."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel


class Backup(TimeStampedModel):
    """One dump of the database, as its manifest describes it, and its verifications.

    The manifest file next to the dump is the truth (a backup copied to
    another machine verifies without this row); this row is what the admin,
    the status page and the metrics read.
    """

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        BY_HAND = "by_hand", _("By hand")
        SAFETY = "safety", _("Safety (before a restore or release)")

    class Verification(models.TextChoices):
        NOT_VERIFIED = "not_verified", _("Not verified yet")
        PASSED = "passed", _("Passed")
        FAILED = "failed", _("Failed")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.BY_HAND)
    engine = models.CharField(_("engine"), max_length=20, help_text=_("postgresql or sqlite"))
    file_name = models.CharField(_("file name"), max_length=150)
    taken_at = models.DateTimeField(
        _("taken at"), db_index=True, help_text=_("The moment the data is from.")
    )
    size_bytes = models.BigIntegerField(_("size bytes"))
    sha256 = models.CharField(_("sha256"), max_length=64)
    app_version = models.CharField(_("app version"), max_length=100, blank=True)
    duration_seconds = models.FloatField(
        _("duration seconds"), help_text=_("How long the dump took.")
    )
    migrations = models.JSONField(_("migrations"), default=list, blank=True)
    row_counts = models.JSONField(_("row counts"), default=dict, blank=True)
    verification = models.CharField(
        _("verification"),
        max_length=12,
        choices=Verification.choices,
        default=Verification.NOT_VERIFIED,
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True, db_index=True)
    verify_error = models.TextField(_("verify error"), blank=True)
    restore_seconds = models.FloatField(
        _("restore seconds"),
        null=True,
        blank=True,
        help_text=_("The last restore of this backup took (measured RTO)."),
    )
    data_age_seconds = models.FloatField(
        _("data age seconds"),
        null=True,
        blank=True,
        help_text=_(
            "How old its data was when last restored (what a restore then would lose: RPO)."
        ),
    )
    deleted_at = models.DateTimeField(
        _("deleted at"),
        null=True,
        blank=True,
        help_text=_("When retention deleted the file; the row stays."),
    )

    class Meta:
        ordering = ["-taken_at"]
        indexes = [
            models.Index(fields=["verification", "-taken_at"], name="backup_verified_newest")
        ]
        verbose_name = _("backup")
        verbose_name_plural = _("backups")

    def __str__(self) -> str:
        return self.name
