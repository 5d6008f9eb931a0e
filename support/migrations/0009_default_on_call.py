from django.db import migrations

from core.roles import roles_apply_in_migration
from support.calendars import default_escalation_policies_in_migration


class Migration(migrations.Migration):
    """The on-call rotation and the runbooks' escalation policies; the groups' permissions."""

    dependencies = [("support", "0008_on_call")]

    operations = [
        migrations.RunPython(default_escalation_policies_in_migration, migrations.RunPython.noop),
        migrations.RunPython(roles_apply_in_migration, migrations.RunPython.noop),
    ]
