"""Run a periodic job now, as if it were a given day (the runbook's "run it by hand")."""

from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core import jobs  # noqa: F401 - registers the jobs
from core.maintenance import DAILY_HOUR, JOBS, LOCAL_ZONE, run_job


class Command(BaseCommand):
    help = "Run one maintenance job now: " + ", ".join(sorted(JOBS))

    def add_arguments(self, parser) -> None:
        parser.add_argument("job", choices=sorted(JOBS))
        parser.add_argument(
            "--date",
            help="Run as on this local date (YYYY-MM-DD), at 02:00 Stockholm time.",
        )

    def handle(self, *args, job: str, date: str | None, **options) -> None:
        if date:
            try:
                day = datetime.strptime(date, "%Y-%m-%d").date()
            except ValueError:
                raise CommandError(f"--date {date!r} is not YYYY-MM-DD") from None
            now = datetime.combine(day, time(DAILY_HOUR), tzinfo=LOCAL_ZONE)
        else:
            now = timezone.now()
        # A manual run has its own key, so it runs even if the scheduled one did.
        record = run_job(job, now=now, key=f"manual-{timezone.now().isoformat()}")
        self.stdout.write(f"{job}: {record.summary if record else 'nothing run'}")
