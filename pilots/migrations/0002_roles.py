from django.db import migrations

from core.roles import roles_apply_in_migration


class Migration(migrations.Migration):
    """Give the staff groups their permissions on the new pilots models (see core.roles)."""

    dependencies = [
        ("pilots", "0001_initial"),
        ("core", "0003_event"),
    ]

    operations = [migrations.RunPython(roles_apply_in_migration, migrations.RunPython.noop)]
