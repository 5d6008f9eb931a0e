"""Staff sign-in: lockout after wrong passwords, second factors, and the security events."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core import roles
from core.models import SecurityEvent
from core.security import security_summary
from pilots import maintenance
from tests.conftest import Client, _logged_in_client, outbox_delivered

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def manager(django_user_model):
    user = django_user_model.objects.create_user(
        username="maria", password=PASSWORD, is_staff=True, email="maria@pilotops.example"
    )
    user.groups.add(Group.objects.get(name=roles.PILOT_MANAGERS))
    return user


def sign_in(client, username, password, *, code="", address="10.1.1.1"):
    return client.post(
        LOGIN,
        {"username": username, "password": password, "otp_token": code},
        REMOTE_ADDR=address,
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


# ------------------------------------------------------------------------------
# Lockout (django-axes)
# ------------------------------------------------------------------------------
def test_five_wrong_passwords_lock_the_account_for_that_address(manager):
    client = Client()
    answers = [sign_in(client, "maria", f"wrong-{n}").status_code for n in range(5)]

    locked = sign_in(client, "maria", PASSWORD)

    assert answers[:4] == [200] * 4
    assert locked.status_code == 429
    assert "Signing in is paused for this account" in locked.content.decode()
    assert not signed_in(client)
    kinds = list(SecurityEvent.objects.values_list("kind", flat=True))
    assert kinds.count(SecurityEvent.Kind.LOGIN_FAILED) >= 5
    assert kinds.count(SecurityEvent.Kind.LOCKED_OUT) == 1


def test_the_lock_holds_for_that_address_only(manager):
    for n in range(5):
        sign_in(Client(), "maria", f"wrong-{n}")

    elsewhere = Client()
    sign_in(elsewhere, "maria", PASSWORD, address="10.2.2.2")

    assert sign_in(Client(), "maria", PASSWORD).status_code == 429
    assert signed_in(elsewhere)


def test_a_superuser_unlocks_the_account_in_the_admin(manager, admin_client):
    for n in range(5):
        sign_in(Client(), "maria", f"wrong-{n}")
    attempt = AccessAttempt.objects.get(username="maria")

    unlocked = admin_client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    client = Client()
    sign_in(client, "maria", PASSWORD)

    assert unlocked.status_code == 302
    assert signed_in(client)
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.UNLOCKED, username="maria").exists()


def test_staff_cannot_see_or_clear_lockouts(manager, agent_client):
    for n in range(5):
        sign_in(Client(), "maria", f"wrong-{n}")

    assert agent_client.get("/admin/axes/accessattempt/").status_code == 403
    assert agent_client.get("/admin/core/securityevent/").status_code == 403


def test_lockout_expires_after_the_cool_off(manager, settings):
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    for n in range(5):
        sign_in(Client(), "maria", f"wrong-{n}")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    client = Client()
    sign_in(client, "maria", PASSWORD)

    assert signed_in(client)


# ------------------------------------------------------------------------------
# Second factors (django-otp)
# ------------------------------------------------------------------------------
def test_pilot_manager_without_a_second_factor_cannot_reach_the_admin_in_production(
    manager, settings
):
    settings.SECOND_FACTOR_REQUIRED = True
    client = Client()
    sign_in(client, "maria", PASSWORD)

    pages = [client.get(url) for url in ("/admin/", "/admin/pilots/payment/", "/admin/pilots/")]

    assert signed_in(client)
    for page in pages:
        assert page.status_code == 302
        assert page["Location"] == "/admin/second-factor/"


def test_viewer_without_a_second_factor_reaches_the_admin_in_production(settings, staff_member):
    settings.SECOND_FACTOR_REQUIRED = True
    viewer = staff_member(roles.VIEWERS)

    assert _logged_in_client(viewer).get("/admin/").status_code == 200


def test_embedded_mode_keeps_the_second_factor_optional(manager):
    client = Client()
    sign_in(client, "maria", PASSWORD)

    assert client.get("/admin/").status_code == 200


def test_setting_up_a_second_factor_opens_the_admin_and_gives_backup_codes(manager, settings):
    settings.SECOND_FACTOR_REQUIRED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no pause after the wrong code
    client = Client()
    sign_in(client, "maria", PASSWORD)
    page = client.get("/admin/second-factor/")
    device = TOTPDevice.objects.get(user=manager, confirmed=False)

    wrong = client.post("/admin/second-factor/", {"code": "000000"})
    confirmed = client.post("/admin/second-factor/", {"code": current_code(device)})

    assert page.status_code == 200
    assert "Key:" in page.content.decode()
    assert "not right" in wrong.content.decode()
    codes = confirmed.context["backup_codes"]
    assert len(codes) == 10
    assert all(code in confirmed.content.decode() for code in codes)
    assert client.get("/admin/").status_code == 200
    assert set(SecurityEvent.objects.values_list("kind", flat=True)) >= {
        SecurityEvent.Kind.SECOND_FACTOR_ADDED,
        SecurityEvent.Kind.BACKUP_CODES_ISSUED,
    }


@pytest.fixture
def manager_with_device(manager):
    return TOTPDevice.objects.create(user=manager, name="Authenticator app", confirmed=True)


def test_sign_in_needs_the_code_once_a_device_is_confirmed(manager_with_device, settings):
    settings.SECOND_FACTOR_REQUIRED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no pause after the wrong code
    without, wrong, right = Client(), Client(), Client()

    missing = sign_in(without, "maria", PASSWORD)
    sign_in(wrong, "maria", PASSWORD, code="123456")
    sign_in(right, "maria", PASSWORD, code=current_code(manager_with_device))

    assert "Enter the code from your authenticator app." in missing.content.decode()
    assert not signed_in(without)
    assert not signed_in(wrong)
    assert signed_in(right)
    assert right.get("/admin/").status_code == 200


def test_a_backup_code_signs_in_once(manager_with_device, rf):
    from core.security import backup_codes_issue

    request = rf.get("/")
    (first, *_) = backup_codes_issue(user=manager_with_device.user, request=request)

    once, twice = Client(), Client()
    sign_in(once, "maria", PASSWORD, code=first)
    sign_in(twice, "maria", PASSWORD, code=first)

    assert signed_in(once)
    assert not signed_in(twice)
    assert StaticToken.objects.filter(token=first).count() == 0


# ------------------------------------------------------------------------------
# Security events and the weekly access review
# ------------------------------------------------------------------------------
def test_new_staff_group_and_permission_changes_are_security_events(admin_client, manager):
    response = admin_client.post(
        f"/admin/auth/user/{manager.pk}/change/",
        {
            "username": "maria",
            "first_name": "",
            "last_name": "",
            "email": "maria@pilotops.example",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [Group.objects.get(name=roles.VIEWERS).pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "10:00:00",
        },
    )
    viewers = Group.objects.get(name=roles.VIEWERS)
    group_change = admin_client.post(
        f"/admin/auth/group/{viewers.pk}/change/",
        {"name": viewers.name, "permissions": [Permission.objects.get(codename="add_ticket").pk]},
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert group_change.status_code == 302
    events = {event.kind: event for event in SecurityEvent.objects.all()}
    assert "added: Viewers" in events[SecurityEvent.Kind.GROUPS_CHANGED].detail
    assert "removed: Pilot managers" in events[SecurityEvent.Kind.GROUPS_CHANGED].detail
    assert SecurityEvent.objects.filter(
        kind=SecurityEvent.Kind.PERMISSIONS_CHANGED, detail="superuser granted"
    ).exists()
    assert SecurityEvent.objects.filter(
        kind=SecurityEvent.Kind.PERMISSIONS_CHANGED, username="group Viewers"
    ).exists()


def test_adding_a_staff_account_is_a_security_event(admin_client, django_user_model):
    django_user_model.objects.create_user(username="nils", password=PASSWORD)
    nils = django_user_model.objects.get(username="nils")
    admin_client.post(
        f"/admin/auth/user/{nils.pk}/change/",
        {
            "username": "nils",
            "is_active": "on",
            "is_staff": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "10:00:00",
        },
    )

    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.STAFF_ADDED, user=nils).exists()


def test_security_page_lists_events_for_superusers(admin_client, manager):
    sign_in(Client(), "maria", "wrong")

    page = admin_client.get("/admin/core/securityevent/")

    assert page.status_code == 200
    assert "Failed sign-in" in page.content.decode()


def test_weekly_report_has_a_security_section(manager):
    for n in range(5):
        sign_in(Client(), "maria", f"wrong-{n}")
    now = timezone.now()
    today = timezone.localdate()

    maintenance.report_send(
        start=today - timedelta(days=6),
        end=today,
        title="weekly report",
        security=security_summary(start=now - timedelta(days=7), end=now + timedelta(seconds=1)),
    )

    (message,) = outbox_delivered()
    assert "Security (last 7 days)" in message.body
    assert "Failed sign-ins:    5" in message.body
    assert "Lockouts:           1" in message.body
