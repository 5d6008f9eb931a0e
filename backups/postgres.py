"""PostgreSQL: pg_dump --format=custom of one snapshot, pg_restore into a database made for it.

The row counts and migrations of the manifest are read in the very snapshot
pg_dump dumps (``pg_export_snapshot``), so they match the dump exactly even
while the application keeps writing.
"""

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

from backups.archive import BackupError
from backups.snapshot import Snapshot
from core.logging import redact_contact_data

Progress = Callable[[str], None]

ENGINE = "postgresql"
MAINTENANCE_DATABASE = "postgres"


def _connect(database: dict, dbname: str | None = None, **options) -> psycopg.Connection:
    return psycopg.connect(
        dbname=dbname or database["NAME"],
        user=database.get("USER") or None,
        password=database.get("PASSWORD") or None,
        host=database.get("HOST") or None,
        port=database.get("PORT") or None,
        connect_timeout=10,
        **options,
    )


def _snapshot_connection(database: dict, dbname: str) -> psycopg.Connection:
    """A connection whose first statement opens a read-only repeatable-read transaction."""
    connection = _connect(database, dbname)
    connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    connection.read_only = True
    return connection


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed on this machine (Debian: apt-get install postgresql-client)."
        )
    return path


def _tool_arguments(database: dict, dbname: str) -> list[str]:
    arguments = ["--dbname", dbname, "--no-password"]
    if database.get("HOST"):
        arguments += ["--host", str(database["HOST"])]
    if database.get("PORT"):
        arguments += ["--port", str(database["PORT"])]
    if database.get("USER"):
        arguments += ["--username", str(database["USER"])]
    return arguments


def _tool_environment(database: dict) -> dict[str, str]:
    """The child's environment: ours, plus the password (never on its command line)."""
    environment = dict(os.environ)
    if database.get("PASSWORD"):
        environment["PGPASSWORD"] = str(database["PASSWORD"])
    return environment


def _run_tool(command: list[str], database: dict, progress: Progress | None, what: str) -> None:
    """Run pg_dump or pg_restore, passing its per-table lines to ``progress``."""
    process = subprocess.Popen(  # noqa: S603 - our own arguments, no shell
        command,
        env=_tool_environment(database),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    said = []
    try:
        for line in process.stderr:
            line = line.rstrip()
            said.append(line)
            if progress and ("dumping contents of table" in line or "processing data for" in line):
                progress(line.split(": ", 1)[-1])
    except BaseException:  # the lease was lost, or Ctrl-C: the tool stops with us
        process.kill()
        process.wait()
        raise
    if process.wait() != 0:
        errors = [line for line in said if "error" in line.lower()] or said
        # A failed COPY quotes the row it choked on: no contact data in the message.
        detail = "; ".join(errors[-3:]) or f"exit status {process.returncode}"
        raise BackupError(f"{what} failed: {redact_contact_data(detail)[:1000]}")


def _snapshot_read(connection: psycopg.Connection) -> Snapshot:
    tables = connection.execute(
        "SELECT schemaname, tablename FROM pg_tables "
        "WHERE schemaname = ANY(current_schemas(false)) ORDER BY schemaname, tablename"
    ).fetchall()
    row_counts = {}
    for schema, table in tables:
        label = table if schema == "public" else f"{schema}.{table}"
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
        row_counts[label] = connection.execute(query).fetchone()[0]
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
    """Dump the live database into ``path``; the snapshot's counts are those of the dump."""
    pg_dump = _tool("pg_dump")
    with _snapshot_connection(database, database["NAME"]) as connection:
        exported = connection.execute("SELECT pg_export_snapshot()").fetchone()[0]
        snapshot = _snapshot_read(connection)
        command = [
            pg_dump,
            "--format=custom",
            "--verbose",
            f"--snapshot={exported}",
            "--file",
            str(path),
            *_tool_arguments(database, database["NAME"]),
        ]
        _run_tool(command, database, progress, "pg_dump")
        connection.rollback()
    return snapshot


def database_exists(*, database: dict, target: str) -> bool:
    with _connect(database, MAINTENANCE_DATABASE, autocommit=True) as connection:
        return bool(
            connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target]).fetchone()
        )


def restore(
    *, database: dict, path: Path, target: str, jobs: int = 1, progress: Progress | None = None
) -> None:
    """Create the database ``target`` and pg_restore ``path`` into it; it must not exist yet."""
    pg_restore = _tool("pg_restore")
    with _connect(database, MAINTENANCE_DATABASE, autocommit=True) as connection:
        try:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target)))
        except psycopg.errors.DuplicateDatabase:
            raise BackupError(
                f"The database {target!r} exists already; a restore never writes into one."
            ) from None
    command = [
        pg_restore,
        "--exit-on-error",
        "--no-owner",
        "--verbose",
        f"--jobs={max(1, jobs)}",
        *_tool_arguments(database, target),
        str(path),
    ]
    try:
        _run_tool(command, database, progress, "pg_restore")
    except BaseException:
        drop(database=database, target=target)
        raise


def inspect(*, database: dict, target: str) -> Snapshot:
    """Row counts and migrations of the database ``target`` (a restored one)."""
    with _snapshot_connection(database, target) as connection:
        snapshot = _snapshot_read(connection)
        connection.rollback()
    return snapshot


def drop(*, database: dict, target: str) -> None:
    with _connect(database, MAINTENANCE_DATABASE, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target))
        )


def target_describe(*, database: dict, target: str) -> str:
    """The DATABASE_URL that points at ``target`` (the password left out)."""
    user = database.get("USER") or ""
    host = database.get("HOST") or "localhost"
    port = f":{database['PORT']}" if database.get("PORT") else ""
    credentials = f"{user}@" if user else ""
    if database.get("PASSWORD"):
        credentials = f"{user}:<password>@"
    return f"postgres://{credentials}{host}{port}/{target}"
