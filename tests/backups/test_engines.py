"""What the engines tell a person when a tool fails."""

import pytest

from backups import postgres
from backups.archive import BackupError


def test_a_failing_tool_is_named_with_its_error_and_no_contact_data():
    quoted_row = (
        "echo 'pg_restore: processing data for table \"public.pilots_feedback\"' >&2; "
        'echo \'pg_restore: error: COPY failed for table "pilots_feedback": '
        "ERROR:  value too long, row anna.svensson@example.se +46701234567' >&2; exit 1"
    )

    with pytest.raises(BackupError) as failure:
        postgres._run_tool(["sh", "-c", quoted_row], {}, None, "pg_restore")

    message = str(failure.value)
    assert message.startswith("pg_restore failed: pg_restore: error: COPY failed")
    assert "anna.svensson" not in message and "701234567" not in message
    assert "[email]" in message


def test_a_missing_tool_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(postgres.shutil, "which", lambda name: None)

    with pytest.raises(BackupError, match=r"pg_dump is not installed.*postgresql-client"):
        postgres._tool("pg_dump")
