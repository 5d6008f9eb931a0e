"""Run the reward payout now (beat runs it every 5 minutes)."""

from django.core.management.base import BaseCommand

from pilots.payouts import payouts_run


class Command(BaseCommand):
    help = "Settle unsettled payouts with Stripe, send what is due, pay pending rewards."

    def handle(self, *args, **options) -> None:
        self.stdout.write(str(payouts_run()))
