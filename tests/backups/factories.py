"""Backup rows without dumps, for the pages that only read them."""

from datetime import datetime

from backups.archive import backup_dir
from backups.models import Backup


def backup_recorded(taken_at: datetime, *, file: bool = False, **fields) -> Backup:
    name = f"pilotops-sqlite-{taken_at:%Y%m%dT%H%M%S%f}"
    if file:
        (backup_dir() / f"{name}.sqlite3").write_bytes(b"SQLite format 3\x00 dump")
    return Backup.objects.create(
        name=name,
        engine="sqlite",
        file_name=f"{name}.sqlite3",
        taken_at=taken_at,
        size_bytes=2_500_000,
        sha256="0" * 64,
        duration_seconds=1.5,
        **fields,
    )
