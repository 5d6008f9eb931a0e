"""Seed the demo: staff groups, the demo superuser and each app's demo data (the demo pilot).

Idempotent: running it again changes nothing that is already in place.
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from core.services import DEMO_SEEDS, demo_admin_ensure, roles_sync


class Command(BaseCommand):
    help = "Create or refresh the demo data (safe to run any number of times)."

    def handle(self, *args, **options) -> None:
        roles_sync()
        self.stdout.write("Staff groups: permissions in place.")

        admin = demo_admin_ensure(
            username=settings.DEMO_ADMIN_USERNAME, password=settings.DEMO_ADMIN_PASSWORD
        )
        for seed in DEMO_SEEDS:
            self.stdout.write(seed())

        verb = "created" if admin.created else "ready"
        if admin.password is None:
            self.stdout.write(f"Demo admin {verb}: {admin.username} (password unchanged)")
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Demo admin {verb}: {admin.username} / {admin.password}")
            )
