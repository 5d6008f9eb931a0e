"""Back up the database into BACKUP_DIR with its manifest, then apply retention."""

from django.core.management.base import BaseCommand, CommandError

from backups.archive import BackupError, backup_dir
from backups.models import Backup
from backups.services import backup_create, backups_prune
from backups.terminal import progress_printer, size_text


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump --format=custom, or SQLite's online backup) into "
        "BACKUP_DIR with a manifest, then delete backups retention no longer keeps."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--keep-all", action="store_true", help="Do not apply retention after the backup."
        )

    def handle(self, *args, keep_all: bool, verbosity: int, **options) -> None:
        try:
            made = backup_create(
                kind=Backup.Kind.BY_HAND, progress=progress_printer(self, verbosity=verbosity)
            )
        except BackupError as error:
            raise CommandError(str(error)) from None
        rows = sum(made.row_counts.values())
        self.stdout.write(
            self.style.SUCCESS(f"Backup {made.name} written")
            + f" in {made.duration_seconds:.1f} s: {size_text(made.size_bytes)}, "
            f"{len(made.row_counts)} tables, {rows} rows, {len(made.migrations)} migrations."
        )
        self.stdout.write(f"  file: {backup_dir() / made.file_name}")
        self.stdout.write(f"  SHA-256: {made.sha256}")
        if not keep_all:
            deleted = backups_prune()
            self.stdout.write(f"Retention: {deleted} old backup(s) deleted.")
