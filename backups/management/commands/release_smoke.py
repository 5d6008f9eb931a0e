"""After a release: readiness, the operators' status and one synthetic journey through the form."""

from django.core.management.base import BaseCommand, CommandError

from core.selectors import readiness_checks
from pilots.probe import probe_run


class Command(BaseCommand):
    help = (
        "The release's smoke test: database, cache and broker answer, and a synthetic customer "
        "journey through the public form (PROBE_BASE_URL) succeeds. Exit status 1 when not."
    )

    def handle(self, *args, **options) -> None:
        failed = [check for check in readiness_checks() if not check.ok]
        for check in failed:
            self.stdout.write(f"  {check.name}: {check.detail}")
        journey = probe_run()
        outcome = "ok" if journey.ok else f"failed ({journey.status_code or '-'}: {journey.detail})"
        self.stdout.write(f"Synthetic journey: {outcome} in {journey.latency_ms} ms")
        failing = [check.name for check in failed] + ([] if journey.ok else ["journey"])
        if failing:
            raise CommandError("Smoke test failed: " + ", ".join(failing))
        self.stdout.write(self.style.SUCCESS("Smoke test passed."))
