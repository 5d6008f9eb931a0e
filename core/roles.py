"""The staff groups of Pilot Ops and the permissions each one holds.

Permissions are granted per app: ``MANAGE`` is every permission of the app's
models (add, change, delete, view and any custom ones), ``VIEW`` only the
``view_*`` ones. Superusers (operators) hold everything without a group.

`roles_apply` sets each group's permissions to exactly what is declared here,
so a permission taken out here is taken away. It runs in a data migration
(`roles_apply_in_migration`, added again whenever an app gains models) and in
``seed_demo`` through `core.services.roles_sync`.
"""

from django.db.models import Q

PILOT_MANAGERS = "Pilot managers"
SUPPORT_AGENTS = "Support agents"
# Agents who also receive every SLA warning and breach by e-mail.
SUPPORT_LEADS = "Support leads"
VIEWERS = "Viewers"

MANAGE = "manage"
VIEW = "view"
# Held by no group, whatever its grants: given to a person by hand (superusers have it).
NEVER_GRANTED = ("view_contact_data",)

ROLES: dict[str, dict[str, str]] = {
    PILOT_MANAGERS: {
        "pilots": MANAGE,
        "rollouts": MANAGE,
        "billing": MANAGE,
        "support": VIEW,
        "core": VIEW,
        "backups": VIEW,
        "django_celery_beat": VIEW,
    },
    # Agents read pilots (so no payment changes) and run support.
    SUPPORT_AGENTS: {
        "pilots": VIEW,
        "rollouts": VIEW,
        "billing": VIEW,
        "support": MANAGE,
        "core": VIEW,
        "backups": VIEW,
        "django_celery_beat": VIEW,
    },
    SUPPORT_LEADS: {
        "pilots": VIEW,
        "rollouts": VIEW,
        "billing": VIEW,
        "support": MANAGE,
        "core": VIEW,
        "backups": VIEW,
        "django_celery_beat": VIEW,
    },
    VIEWERS: {
        "pilots": VIEW,
        "rollouts": VIEW,
        "billing": VIEW,
        "support": VIEW,
        "core": VIEW,
        "backups": VIEW,
    },
}


def role_permissions_filter(grants: dict[str, str]) -> Q:
    """A filter on Permission that selects what ``grants`` allow."""
    selected = Q(pk__in=[])
    for app_label, level in grants.items():
        in_app = Q(content_type__app_label=app_label)
        selected |= in_app if level == MANAGE else in_app & Q(codename__startswith="view_")
    return selected & ~Q(codename__in=NEVER_GRANTED)


def roles_apply(*, group_model, permission_model) -> None:
    """Create the groups and give each exactly its declared permissions.

    Takes the model classes so that migrations can pass historical ones.
    """
    for name, grants in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=name)
        group.permissions.set(permission_model.objects.filter(role_permissions_filter(grants)))


def roles_apply_in_migration(apps, schema_editor) -> None:
    """RunPython body: make the permissions of every model so far, then apply roles.

    Django creates permissions only after all migrations ran (post_migrate),
    so a data migration makes them itself for the models it can see.
    """
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_contenttypes(app_config, verbosity=0, apps=apps)
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    roles_apply(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
    )
