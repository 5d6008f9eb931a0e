"""Run a periodic job now, as if it were a given day (the runbook's "run it by hand").

The run counts for the job's period: when beat (or an earlier hand run) has
done the period's work already, it says so and runs nothing, so no report
goes out twice; ``--resend`` runs the job again and sends its e-mails again.
"""

from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.maintenance import DAILY_HOUR, JOBS, LOCAL_ZONE, job_run_by_hand


class Command(BaseCommand):
    help = "Run one maintenance job now: " + ", ".join(sorted(JOBS))

    def add_arguments(self, parser) -> None:
        parser.add_argument("job", choices=sorted(JOBS))
        parser.add_argument(
            "--date",
            help="Run as on this local date (YYYY-MM-DD), at 02:00 Stockholm time.",
        )
        parser.add_argument(
            "--resend",
            action="store_true",
            help="Run it even if its period is done already, sending its e-mails again.",
        )

    def handle(self, *args, job: str, date: str | None, resend: bool, **options) -> None:
        if date:
            try:
                day = datetime.strptime(date, "%Y-%m-%d").date()
            except ValueError:
                raise CommandError(f"--date {date!r} is not YYYY-MM-DD") from None
            now = datetime.combine(day, time(DAILY_HOUR), tzinfo=LOCAL_ZONE)
        else:
            now = timezone.now()
        _, message = job_run_by_hand(job, now=now, resend=resend)
        self.stdout.write(f"{job}: {message}")
