"""Before a release: unapplied migrations and their risks, a fresh verified backup, green health."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from backups.release import DESTRUCTIVE, release_readiness


class Command(BaseCommand):
    help = (
        "List unapplied migrations and flag those unsafe on a live database; check that a "
        "verified backup is younger than one hour and that health is green. Exit status 1 "
        "when the release should not go ahead."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--allow-unsafe",
            action="store_true",
            help="Go ahead despite flagged migrations (they are still listed).",
        )

    def handle(self, *args, allow_unsafe: bool, **options) -> None:
        readiness = release_readiness(allow_unsafe=allow_unsafe)
        if readiness.pending:
            self.stdout.write(f"Unapplied migrations ({len(readiness.pending)}):")
            for migration in readiness.pending:
                self.stdout.write(f"  {migration.name}")
                for flag in migration.flags:
                    self.stdout.write(f"    [{flag.level}] {flag.text}")
        else:
            self.stdout.write("Unapplied migrations: none.")
        if readiness.backup is None:
            self.stdout.write("Verified backup: none.")
        else:
            age = (timezone.now() - readiness.backup.taken_at).total_seconds() / 60
            self.stdout.write(
                f"Verified backup: {readiness.backup.name}, {age:.0f} min old, "
                f"restored in {readiness.backup.restore_seconds:.1f} s."
            )
        self.stdout.write(
            "Health: green."
            if not readiness.health_problems
            else "Health: " + ", ".join(readiness.health_problems) + " need attention."
        )
        self.stdout.write(
            f"Destructive migrations: {'yes' if readiness.destructive else 'no'}"
            + (
                f" (marked [{DESTRUCTIVE}]: a rollback restores the backup)"
                if readiness.destructive
                else ""
            )
        )
        if readiness.blockers:
            raise CommandError("Do not release: " + "; ".join(readiness.blockers) + ".")
        self.stdout.write(self.style.SUCCESS("Ready to release."))
