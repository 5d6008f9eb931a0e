from django.db import migrations

from core.roles import roles_apply_in_migration


class Migration(migrations.Migration):
    """The staff groups with their permissions (see core.roles)."""

    dependencies = [
        ("core", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(roles_apply_in_migration, migrations.RunPython.noop)]
