"""Run the SLA sweep now (beat runs it every minute)."""

from django.core.management.base import BaseCommand

from support.services import sla_sweep


class Command(BaseCommand):
    help = "Mark SLA warnings and breaches that have come due, escalate and notify."

    def handle(self, *args, **options) -> None:
        self.stdout.write(str(sla_sweep()))
