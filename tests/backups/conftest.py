"""Fixtures of the backup tests: a BACKUP_DIR of their own, and feedback in bulk."""

import pytest
from django.db import connection

POSTGRES = connection.vendor == "postgresql"

# Slow tests that need PostgreSQL run in CI's PostgreSQL stage (DATABASE_URL set).
postgres_only = pytest.mark.skipif(
    not POSTGRES, reason="PostgreSQL only: runs in the suite's PostgreSQL stage"
)


@pytest.fixture(autouse=True)
def backup_dir(settings, tmp_path):
    settings.BACKUP_DIR = tmp_path / "backups"
    return settings.BACKUP_DIR


def feedback_bulk_create(code, count: int) -> None:
    """``count`` accepted feedback rows at ``code``, inserted in a few statements."""
    from pilots.models import Feedback

    enrollment = code.business.enrollments.get()
    Feedback.objects.bulk_create(
        (
            Feedback(
                business=code.business,
                pilot=enrollment.pilot,
                enrollment=enrollment,
                qr_code=code,
                rating=1 + n % 5,
                language="sv",
                comment="Kanelbullen var god.",
                quality_score=n % 101,
                client_hash=f"{n:064x}",
            )
            for n in range(count)
        ),
        batch_size=10_000,
    )
