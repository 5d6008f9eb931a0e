"""Prove a backup by restoring it into a scratch database and comparing it with its manifest."""

from django.core.management.base import BaseCommand, CommandError

from backups.archive import BackupError
from backups.services import backup_file_verify, backup_verify
from backups.terminal import progress_printer


class Command(BaseCommand):
    help = (
        "Restore the newest (or the named) backup into a scratch database it creates and drops, "
        "and check its checksum, migrations and the row count of every table."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", nargs="?", help="A backup's name; default: the newest.")
        parser.add_argument(
            "--file",
            help="Verify a dump file by its manifest alone (a copy from another machine).",
        )
        parser.add_argument(
            "--drill",
            action="store_true",
            help="A restore drill: also check this code knows every migration of the backup.",
        )

    def handle(
        self, *args, name: str | None, file: str | None, drill: bool, verbosity: int, **options
    ) -> None:
        progress = progress_printer(self, verbosity=verbosity)
        try:
            if file:
                restored = backup_file_verify(path=file, progress=progress)
                self.stdout.write(
                    self.style.SUCCESS(f"{restored.manifest.name} verified")
                    + f": restored in {restored.seconds:.1f} s, "
                    f"{len(restored.snapshot.row_counts)} tables match the manifest."
                )
                return
            verified = backup_verify(name=name, drill=drill, progress=progress)
        except BackupError as error:
            raise CommandError(f"Verification failed: {error}") from None
        self.stdout.write(
            self.style.SUCCESS(f"{verified.name} verified")
            + f": checksum, {len(verified.migrations)} migrations and "
            f"{len(verified.row_counts)} tables' row counts match the manifest."
        )
        self.stdout.write(
            f"  restore time (RTO at this size): {verified.restore_seconds:.1f} s; "
            f"age of the data (RPO now): {verified.data_age_seconds / 3600:.1f} h"
        )
