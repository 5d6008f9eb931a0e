"""Seed the demo: staff groups, the demo superuser and, as the models arrive, the demo pilot.

Idempotent: running it again changes nothing that is already in place.
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from core.services import demo_admin_ensure, roles_sync
from pilots.demo import demo_pilot_seed
from support.demo import demo_support_seed


class Command(BaseCommand):
    help = "Create or refresh the demo data (safe to run any number of times)."

    def handle(self, *args, **options) -> None:
        roles_sync()
        self.stdout.write("Staff groups: permissions in place.")

        admin = demo_admin_ensure(
            username=settings.DEMO_ADMIN_USERNAME, password=settings.DEMO_ADMIN_PASSWORD
        )
        demo = demo_pilot_seed()
        self.stdout.write(
            f"Demo pilot “{demo.pilot.name}” ({demo.pilot.get_status_display().lower()}): "
            + ", ".join(business.name for business in demo.businesses)
            + f"; {demo.codes_issued} new QR code(s), {demo.feedback_created} new feedback."
        )

        tickets = demo_support_seed(businesses=demo.businesses)
        self.stdout.write(f"Support: staff links in place; {tickets} new demo ticket(s).")

        verb = "created" if admin.created else "ready"
        if admin.password is None:
            self.stdout.write(f"Demo admin {verb}: {admin.username} (password unchanged)")
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Demo admin {verb}: {admin.username} / {admin.password}")
            )
