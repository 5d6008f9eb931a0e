"""The embedded SQLite database: its online backup API, and a copy of the file to restore.

The backup API copies a consistent snapshot in one step, inside one read
transaction, while the web, worker and beat processes keep writing (WAL
lets them). A copy in several steps would start again each time any other
connection wrote, the lease renewals of the run itself included, and might
never finish. The copy is switched to a rollback journal so the backup is
one self-contained file.
"""

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

from backups.archive import BackupError
from backups.snapshot import Snapshot

Progress = Callable[[str], None]

ENGINE = "sqlite"


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _snapshot_read(connection: sqlite3.Connection) -> Snapshot:
    tables = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    row_counts = {}
    for table in tables:
        count_query = f"SELECT count(*) FROM {_quoted(table)}"  # noqa: S608 - a quoted name
        row_counts[table] = connection.execute(count_query).fetchone()[0]
    migrations = []
    if "django_migrations" in row_counts:
        migrations = [
            row[0]
            for row in connection.execute(
                "SELECT app || '.' || name FROM django_migrations ORDER BY app, name"
            )
        ]
    return Snapshot(row_counts=row_counts, migrations=migrations)


def dump(*, database: dict, path: Path, progress: Progress | None = None) -> Snapshot:
    source = sqlite3.connect(f"file:{database['NAME']}?mode=ro", uri=True, timeout=20)
    target = sqlite3.connect(path)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")
        if progress:
            progress(f"{target.execute('PRAGMA page_count').fetchone()[0]} pages copied")
        return _snapshot_read(target)
    finally:
        target.close()
        source.close()


def database_exists(*, database: dict, target: str) -> bool:
    return Path(target).exists()


def restore(
    *, database: dict, path: Path, target: str, jobs: int = 1, progress: Progress | None = None
) -> None:
    """Copy ``path`` to the new file ``target`` and check it is a sound database."""
    destination = Path(target)
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("rb") as source, destination.open("xb") as copy:
            shutil.copyfileobj(source, copy, 1024 * 1024)
    except FileExistsError:
        raise BackupError(
            f"The file {destination} exists already; a restore never writes into one."
        ) from None
    if progress:
        progress(f"copied to {destination}")
    try:
        _integrity_check(destination)
    except BackupError:
        drop(database=database, target=target)
        raise


def _integrity_check(destination: Path) -> None:
    try:
        connection = sqlite3.connect(f"file:{destination}?mode=ro", uri=True)
        try:
            result = connection.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"The restored copy is not a sound SQLite database: {error}.") from None
    if result != "ok":
        raise BackupError(f"The restored copy failed SQLite's integrity check: {result}.")


def inspect(*, database: dict, target: str) -> Snapshot:
    connection = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        return _snapshot_read(connection)
    except sqlite3.DatabaseError as error:
        raise BackupError(f"The restored copy cannot be read: {error}.") from None
    finally:
        connection.close()


def drop(*, database: dict, target: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)


def target_describe(*, database: dict, target: str) -> str:
    return f"sqlite:///{Path(target).resolve()}"
