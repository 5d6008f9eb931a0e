"""python manage.py billing_sync_plans: make Stripe's products and prices match the plans."""

from django.core.management.base import BaseCommand, CommandError

from billing import services
from pilots import stripe_gateway


class Command(BaseCommand):
    help = "Create or update each plan's Stripe product, monthly price and VAT rate (idempotent)."

    def handle(self, *args, **options):
        if not stripe_gateway.is_configured():
            raise CommandError("STRIPE_SECRET_KEY is not set: nothing was synced.")
        try:
            results = services.plans_sync()
        except (stripe_gateway.TransientStripeError, stripe_gateway.PermanentStripeError) as error:
            raise CommandError(
                f"Stripe did not answer as expected: {error}; run it again."
            ) from error
        for result in results:
            self.stdout.write(str(result))
        if not results:
            self.stdout.write("No plans.")
