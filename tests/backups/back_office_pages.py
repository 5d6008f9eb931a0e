"""A backup the demo lacks, for the Swedish page check."""

from datetime import timedelta

from django.utils import timezone

from tests.backups.factories import backup_recorded

PAGES: list[str] = []


def make_rows() -> None:
    """A backup proved by a restore, so its change page shows every figure."""
    backup_recorded(
        timezone.now() - timedelta(hours=5),
        verification="passed",
        verified_at=timezone.now(),
        restore_seconds=42.5,
        data_age_seconds=3 * 86400,
    )
