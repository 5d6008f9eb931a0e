"""Write the privacy papers (DPA, DPIA, IT guide; Swedish and English) to docs/privacy/."""

from django.core.management.base import BaseCommand, CommandError

from privacy.papers import papers_write


class Command(BaseCommand):
    help = "Write docs/privacy/ from the code's facts; --check fails when they are out of date."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="Change nothing; fail if a paper is stale."
        )

    def handle(self, *args, check: bool = False, **options):
        stale = papers_write(check=check)
        if check and stale:
            names = ", ".join(path.name for path in stale)
            raise CommandError(f"Out of date: {names}. Run: python manage.py privacy_papers")
        for path in stale:
            self.stdout.write(f"wrote {path.name}")
        if not stale:
            self.stdout.write("docs/privacy/ is up to date")
