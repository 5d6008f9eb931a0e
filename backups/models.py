"""A backup: one dump file and its manifest in BACKUP_DIR, and what restoring it showed."""

from django.db import models

from core.models import TimeStampedModel


class Backup(TimeStampedModel):
    """One dump of the database, as its manifest describes it, and its verifications.

    The manifest file next to the dump is the truth (a backup copied to
    another machine verifies without this row); this row is what the admin,
    the status page and the metrics read.
    """

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        BY_HAND = "by_hand", "By hand"
        SAFETY = "safety", "Safety (before a restore or release)"

    class Verification(models.TextChoices):
        NOT_VERIFIED = "not_verified", "Not verified yet"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.BY_HAND)
    engine = models.CharField(max_length=20, help_text="postgresql or sqlite")
    file_name = models.CharField(max_length=150)
    taken_at = models.DateTimeField(db_index=True, help_text="The moment the data is from.")
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    app_version = models.CharField(max_length=100, blank=True)
    duration_seconds = models.FloatField(help_text="How long the dump took.")
    migrations = models.JSONField(default=list, blank=True)
    row_counts = models.JSONField(default=dict, blank=True)
    verification = models.CharField(
        max_length=12, choices=Verification.choices, default=Verification.NOT_VERIFIED
    )
    verified_at = models.DateTimeField(null=True, blank=True, db_index=True)
    verify_error = models.TextField(blank=True)
    restore_seconds = models.FloatField(
        null=True, blank=True, help_text="The last restore of this backup took (measured RTO)."
    )
    data_age_seconds = models.FloatField(
        null=True,
        blank=True,
        help_text="How old its data was when last restored (what a restore then would lose: RPO).",
    )
    deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="When retention deleted the file; the row stays."
    )

    class Meta:
        ordering = ["-taken_at"]
        indexes = [
            models.Index(fields=["verification", "-taken_at"], name="backup_verified_newest")
        ]

    def __str__(self) -> str:
        return self.name
