"""Is it safe to release now? Unapplied migrations and what they do to a live database,
a verified backup from the last hour, and green health; and the smoke test after it.

django-migration-linter is not available to this project, so the operations
of each unapplied migration are checked here: what breaks the code still
running during a rolling release (a column it reads disappears, a NOT NULL
column it does not fill appears), what takes a long lock on a big table,
what cannot be checked (raw SQL, Python), and what destroys data, so that
undoing the release needs the pre-release backup restored.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.db.migrations import operations
from django.db.migrations.executor import MigrationExecutor
from django.db.models import NOT_PROVIDED
from django.utils import timezone

from backups.archive import backup_dir
from backups.models import Backup

BACKUP_MAX_AGE = timedelta(hours=1)

DESTRUCTIVE = "destructive"  # data is gone: undoing the release needs the backup restored
UNSAFE = "unsafe"  # breaks the running code or locks a table for long
REVIEW = "review"  # cannot be judged from here: read it


@dataclass(frozen=True)
class OperationFlag:
    level: str
    text: str


@dataclass
class PendingMigration:
    name: str  # app.migration
    flags: list[OperationFlag] = field(default_factory=list)

    @property
    def destructive(self) -> bool:
        return any(flag.level == DESTRUCTIVE for flag in self.flags)


def _field_is_filled_by_the_database(added) -> bool:
    return added.null or added.db_default is not NOT_PROVIDED


CONCURRENT_OPERATIONS = {"AddIndexConcurrently", "AddConstraintNotValid"}


def operation_flag(operation, *, new_models: set[str]) -> OperationFlag | None:
    """What ``operation`` does to a live database that old code still uses (None: nothing)."""
    model = getattr(operation, "model_name", None) or getattr(operation, "name", "")
    on_existing_table = str(model).lower() not in new_models
    described = operation.describe()
    if isinstance(operation, (operations.RemoveField, operations.DeleteModel)):
        return OperationFlag(DESTRUCTIVE, f"{described}: its data is dropped")
    if isinstance(operation, (operations.RenameField, operations.RenameModel)):
        return OperationFlag(UNSAFE, f"{described}: the running code still uses the old name")
    if isinstance(operation, operations.AlterModelTable):
        return OperationFlag(UNSAFE, f"{described}: the running code reads the old table")
    if (
        isinstance(operation, operations.AddField)
        and on_existing_table
        and not _field_is_filled_by_the_database(operation.field)
    ):
        return OperationFlag(
            UNSAFE,
            f"{described}: NOT NULL without a database default; the running code's inserts "
            "fail (use null=True or db_default)",
        )
    if isinstance(operation, operations.AlterField) and on_existing_table:
        return OperationFlag(
            UNSAFE, f"{described}: may rewrite or lock the table, or refuse the running code's rows"
        )
    if (
        isinstance(operation, (operations.AddIndex, operations.AddConstraint))
        and on_existing_table
        and type(operation).__name__ not in CONCURRENT_OPERATIONS
    ):
        return OperationFlag(
            UNSAFE,
            f"{described}: locks writes to the table while it builds "
            "(on PostgreSQL, use AddIndexConcurrently)",
        )
    if isinstance(operation, operations.RunSQL):
        return OperationFlag(REVIEW, "raw SQL: read it before a release")
    if isinstance(operation, operations.RunPython) and not operation.reversible:
        return OperationFlag(REVIEW, f"{described}: cannot be reversed")
    return None


def pending_migrations() -> list[PendingMigration]:
    """The migrations this code would apply to the live database, each with its flags."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    pending = []
    for migration, backwards in plan:
        if backwards:
            continue
        new_models = {
            operation.name.lower()
            for operation in migration.operations
            if isinstance(operation, operations.CreateModel)
        }
        entry = PendingMigration(name=f"{migration.app_label}.{migration.name}")
        entry.flags = [
            flag
            for operation in migration.operations
            if (flag := operation_flag(operation, new_models=new_models)) is not None
        ]
        pending.append(entry)
    return pending


@dataclass
class ReleaseReadiness:
    pending: list[PendingMigration]
    backup: Backup | None  # the newest verified backup
    backup_fresh: bool
    health_problems: list[str]
    allow_unsafe: bool = False

    @property
    def destructive(self) -> bool:
        return any(migration.destructive for migration in self.pending)

    @property
    def unsafe(self) -> bool:
        return any(
            flag.level in (UNSAFE, DESTRUCTIVE)
            for migration in self.pending
            for flag in migration.flags
        )

    @property
    def blockers(self) -> list[str]:
        found = []
        if not self.backup_fresh:
            found.append("no verified backup from the last hour")
        if self.health_problems:
            found.append("health is not green: " + ", ".join(self.health_problems))
        if self.unsafe and not self.allow_unsafe:
            found.append("unsafe migrations (read them; --allow-unsafe to go ahead)")
        return found


def release_readiness(
    *, now: datetime | None = None, allow_unsafe: bool = False
) -> ReleaseReadiness:
    from core.selectors import operations_status

    now = now or timezone.now()
    backup = (
        Backup.objects.filter(verification=Backup.Verification.PASSED, deleted_at__isnull=True)
        .order_by("-taken_at")
        .first()
    )
    status = operations_status(now=now)
    return ReleaseReadiness(
        pending=pending_migrations(),
        backup=backup,
        backup_fresh=backup is not None
        and now - backup.taken_at <= BACKUP_MAX_AGE
        and (backup_dir() / backup.file_name).is_file(),
        health_problems=list(status.stale),
        allow_unsafe=allow_unsafe,
    )
