from django.db import migrations

from core.roles import roles_apply_in_migration


class Migration(migrations.Migration):
    """Staff groups' permissions on plans, offers, subscriptions and invoices (core.roles)."""

    dependencies = [("billing", "0002_seed_bas_plus_pro")]

    operations = [migrations.RunPython(roles_apply_in_migration, migrations.RunPython.noop)]
