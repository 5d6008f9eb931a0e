"""Run the reward payout now (beat runs it every 5 minutes)."""

from django.core.management.base import BaseCommand

from pilots.payments import payouts_run


class Command(BaseCommand):
    help = "Pay pending rewards to payable recipients; retry and recover what is due."

    def handle(self, *args, **options) -> None:
        self.stdout.write(str(payouts_run()))
