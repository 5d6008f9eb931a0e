"""Restore a backup into a new database and say how to switch to it; never over the live one."""

from django.core.management.base import BaseCommand, CommandError

from backups.archive import BackupError
from backups.services import backup_restore
from backups.terminal import progress_printer


class Command(BaseCommand):
    help = (
        "Restore the named backup into a new database (PostgreSQL) or file (SQLite) and print "
        "the steps to switch DATABASE_URL to it. The live database is never overwritten."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="The backup's name (or the path of its dump file).")
        parser.add_argument(
            "--database",
            dest="target",
            help="The new database's name (PostgreSQL) or file path (SQLite); it must not exist.",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="This restore will replace the live database: take a safety backup of it first.",
        )

    def handle(
        self, *args, name: str, target: str | None, replace: bool, verbosity: int, **options
    ) -> None:
        try:
            result = backup_restore(
                name=name,
                target=target,
                replace=replace,
                progress=progress_printer(self, verbosity=verbosity),
            )
        except BackupError as error:
            raise CommandError(f"Restore refused or failed: {error}") from None
        restored = result.restored
        if result.safety_backup is not None:
            self.stdout.write(
                f"Safety backup of the live database: {result.safety_backup.name} "
                "(restore it the same way to undo the switch)."
            )
        self.stdout.write(
            self.style.SUCCESS(f"{restored.manifest.name} restored into {restored.target}")
            + f" in {restored.seconds:.1f} s; {len(restored.snapshot.row_counts)} tables match "
            f"the manifest (data from {restored.manifest.taken_at})."
        )
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "To switch Pilot Ops to the restored database:",
                    "  1. Close feedback intake (Feedback intake switch in the admin) and stop "
                    "beat, the workers and web.",
                    f"  2. Set DATABASE_URL={restored.database_url}",
                    "     (same credentials as now) wherever web, workers and beat read it.",
                    "  3. python manage.py migrate   (applies what this release added since the "
                    "backup)",
                    "  4. Start web, then the workers, then exactly one beat; check /health/ready/ "
                    "and /health/status/.",
                    "  5. Reopen feedback intake.",
                    f"The old database ({result.live_database}) is left as it was: drop it only "
                    "once the restored one has served for a while.",
                ]
            )
        )
