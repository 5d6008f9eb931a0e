"""`seed_demo` is safe to run again and again."""

import io

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.core.management import call_command

from core import roles

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_groups_and_a_superuser_it_prints(settings, django_user_model):
    settings.DEMO_ADMIN_PASSWORD = "demo-password-for-tests"

    printed = seed()

    admin = django_user_model.objects.get(username=settings.DEMO_ADMIN_USERNAME)
    assert admin.is_superuser and admin.is_staff
    assert authenticate(username=admin.username, password="demo-password-for-tests") == admin
    assert f"{admin.username} / demo-password-for-tests" in printed
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ROLES)


def test_seed_demo_twice_changes_nothing_more(settings, django_user_model):
    settings.DEMO_ADMIN_PASSWORD = "demo-password-for-tests"
    seed()
    counts = (django_user_model.objects.count(), Group.objects.count())

    seed()

    assert (django_user_model.objects.count(), Group.objects.count()) == counts


def test_seed_demo_without_configured_password_prints_a_random_one_once(
    settings, django_user_model
):
    settings.DEMO_ADMIN_PASSWORD = ""

    first = seed()
    second = seed()

    password = first.split(f"{settings.DEMO_ADMIN_USERNAME} / ")[1].split()[0]
    assert len(password) >= 20
    assert "password unchanged" in second
    assert password not in second
    assert authenticate(username=settings.DEMO_ADMIN_USERNAME, password=password) is not None
