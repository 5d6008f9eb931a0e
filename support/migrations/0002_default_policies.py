from django.db import migrations

from core.roles import roles_apply_in_migration
from support.calendars import default_policies_in_migration


class Migration(migrations.Migration):
    """DESIGN.md's calendars and SLA policies, and the groups' permissions on support."""

    dependencies = [
        ("support", "0001_calendars_and_policies"),
        ("pilots", "0004_rewards"),
    ]

    operations = [
        migrations.RunPython(default_policies_in_migration, migrations.RunPython.noop),
        migrations.RunPython(roles_apply_in_migration, migrations.RunPython.noop),
    ]
