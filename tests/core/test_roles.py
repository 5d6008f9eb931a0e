"""The three staff groups and the boundaries between them, seen through the admin."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from core import roles
from core.services import roles_sync

pytestmark = pytest.mark.django_db


def group_codenames(name: str) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=name).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def test_roles_migration_creates_the_three_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        roles.PILOT_MANAGERS,
        roles.SUPPORT_AGENTS,
        roles.VIEWERS,
    }


def test_roles_viewers_hold_only_view_permissions():
    codenames = group_codenames(roles.VIEWERS)

    assert "core.view_heartbeat" in codenames
    assert all(codename.split(".")[1].startswith("view_") for codename in codenames)


def test_roles_sync_gives_each_group_its_share_of_a_new_model():
    """A model that arrives later (here: a payment) is split by the declared rules."""
    payment, _ = ContentType.objects.get_or_create(app_label="pilots", model="payment")
    ticket, _ = ContentType.objects.get_or_create(app_label="support", model="ticket")
    for content_type in (payment, ticket):
        for action in ("add", "change", "delete", "view"):
            Permission.objects.get_or_create(
                content_type=content_type,
                codename=f"{action}_{content_type.model}",
                defaults={"name": f"Can {action} {content_type.model}"},
            )

    roles_sync()

    all_payment = {f"pilots.{a}_payment" for a in ("add", "change", "delete", "view")}
    all_ticket = {f"support.{a}_ticket" for a in ("add", "change", "delete", "view")}
    managers = group_codenames(roles.PILOT_MANAGERS)
    agents = group_codenames(roles.SUPPORT_AGENTS)
    viewers = group_codenames(roles.VIEWERS)
    assert all_payment <= managers
    assert managers & all_ticket == {"support.view_ticket"}
    assert agents & all_payment == {"pilots.view_payment"}
    assert all_ticket <= agents
    assert viewers & (all_payment | all_ticket) == {"pilots.view_payment", "support.view_ticket"}


def test_roles_sync_takes_away_what_is_no_longer_declared():
    viewers = Group.objects.get(name=roles.VIEWERS)
    viewers.permissions.add(Permission.objects.get(codename="add_user"))

    roles_sync()

    assert "auth.add_user" not in group_codenames(roles.VIEWERS)


@pytest.mark.parametrize("staff_client", ["manager_client", "agent_client", "viewer_client"])
def test_roles_every_group_reaches_the_admin_and_reads_heartbeats(request, staff_client):
    client = request.getfixturevalue(staff_client)

    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/core/heartbeat/").status_code == 200


@pytest.mark.parametrize("staff_client", ["manager_client", "agent_client", "viewer_client"])
def test_roles_no_group_manages_users(request, staff_client):
    client = request.getfixturevalue(staff_client)

    assert client.get("/admin/auth/user/").status_code == 403
    assert client.get("/admin/auth/group/add/").status_code == 403


@pytest.mark.parametrize(
    ("staff_client", "can_view"),
    [("manager_client", True), ("agent_client", True), ("viewer_client", False)],
)
def test_roles_periodic_tasks_are_visible_to_managers_and_agents_but_only_operators_change_them(
    request, staff_client, can_view
):
    client = request.getfixturevalue(staff_client)

    listing = client.get("/admin/django_celery_beat/periodictask/")
    adding = client.get("/admin/django_celery_beat/periodictask/add/")

    assert listing.status_code == (200 if can_view else 403)
    assert adding.status_code == 403


def test_roles_superuser_manages_periodic_tasks(admin_client):
    assert admin_client.get("/admin/django_celery_beat/periodictask/add/").status_code == 200


def test_roles_staff_outside_every_group_sees_no_model(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", is_staff=True))

    response = client.get("/admin/")

    assert response.status_code == 200
    assert "/admin/core/heartbeat/" not in response.content.decode()
    assert client.get("/admin/core/heartbeat/").status_code == 403


def test_roles_admin_login_requires_csrf_token(django_user_model):
    from tests.conftest import Client

    django_user_model.objects.create_superuser("root", password="a-long-enough-password")
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/admin/login/", {"username": "root", "password": "a-long-enough-password"}
    )

    assert response.status_code == 403


# Actions that only read (print or download what the Viewer may already see).
READING_ACTIONS = {"print_sheet", "print_sheet_pdf"}


def test_roles_viewers_are_offered_no_action_that_changes_anything(rf, staff_member):
    from django.contrib import admin

    viewer = staff_member(roles.VIEWERS)
    offered = {}
    for model, model_admin in admin.site._registry.items():
        request = rf.get("/admin/")
        request.user = viewer
        if not model_admin.has_view_permission(request):
            continue
        names = set(model_admin.get_actions(request)) - READING_ACTIONS
        if names:
            offered[model._meta.label] = sorted(names)
    assert offered == {}
