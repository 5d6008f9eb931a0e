"""The three plans Pilot Ops sells: Bas, Plus and Pro at 299, 599 and 999 kr a month."""

from django.db import migrations

PLANS = [("Bas", 29900), ("Plus", 59900), ("Pro", 99900)]


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for name, price in PLANS:
        Plan.objects.get_or_create(name=name, defaults={"monthly_price": price})


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_plans_offers_subscriptions_invoices")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
