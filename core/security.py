"""Staff sign-in: lockout events, second factors, and the security events a review reads.

* Failed sign-ins and lockouts come from django-axes (`SecurityEventAxesHandler`
  records them as it counts them).
* Time-based one-time passwords come from django-otp. The admin's sign-in
  form asks for a code whenever the account has a confirmed device; in
  production, superusers and Pilot managers (the people who can move money)
  cannot use the admin until they have one (`SecondFactorMiddleware`).
* Group, permission and staff changes are recorded by the user and group
  admin (`core.admin`).
"""

from dataclasses import dataclass
from datetime import datetime

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user, match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core import roles
from core.client import client_hash
from core.models import SecurityEvent

BACKUP_CODES = 10
APP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"


# ------------------------------------------------------------------------------
# Events
# ------------------------------------------------------------------------------
@transaction.atomic
def security_event_record(
    *,
    kind: str,
    username: str = "",
    user=None,
    actor=None,
    request: HttpRequest | None = None,
    detail: str = "",
) -> SecurityEvent:
    event = SecurityEvent(
        kind=kind,
        username=(username or (user.get_username() if user is not None else ""))[:150],
        user=user if user is not None and user.pk else None,
        actor=actor if actor is not None and actor.is_authenticated else None,
        client_hash=client_hash(request) if request is not None else "",
        detail=detail[:500],
    )
    event.full_clean()
    event.save()
    return event


@dataclass(frozen=True)
class SecuritySummary:
    failed_logins: int
    lockouts: int
    new_staff: int
    permission_changes: int
    second_factor_changes: int
    backup_downloads: int

    @property
    def anything(self) -> bool:
        return any(vars(self).values())


PERMISSION_CHANGES = (SecurityEvent.Kind.GROUPS_CHANGED, SecurityEvent.Kind.PERMISSIONS_CHANGED)
SECOND_FACTOR_CHANGES = (
    SecurityEvent.Kind.SECOND_FACTOR_ADDED,
    SecurityEvent.Kind.SECOND_FACTOR_REMOVED,
    SecurityEvent.Kind.BACKUP_CODES_ISSUED,
)


def security_summary(*, start: datetime, end: datetime) -> SecuritySummary:
    """What the weekly access review reads: counts of each kind of event in [start, end)."""
    counts = dict(
        SecurityEvent.objects.filter(created_at__gte=start, created_at__lt=end)
        .values_list("kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    return SecuritySummary(
        failed_logins=counts.get(SecurityEvent.Kind.LOGIN_FAILED, 0),
        lockouts=counts.get(SecurityEvent.Kind.LOCKED_OUT, 0),
        new_staff=counts.get(SecurityEvent.Kind.STAFF_ADDED, 0),
        permission_changes=sum(counts.get(kind, 0) for kind in PERMISSION_CHANGES),
        second_factor_changes=sum(counts.get(kind, 0) for kind in SECOND_FACTOR_CHANGES),
        backup_downloads=counts.get(SecurityEvent.Kind.BACKUP_DOWNLOADED, 0),
    )


class SecurityEventAxesHandler(AxesDatabaseHandler):
    """django-axes' database handler that also records each failure and lockout."""

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        already_locked = request is not None and self.is_locked(request, credentials)
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        if request is None:
            return
        username = get_client_username(request, credentials) or ""
        security_event_record(
            kind=SecurityEvent.Kind.LOGIN_FAILED,
            username=username,
            request=request,
            detail="refused while locked out" if already_locked else "",
        )
        if not already_locked and getattr(request, "axes_locked_out", False):
            security_event_record(
                kind=SecurityEvent.Kind.LOCKED_OUT, username=username, request=request
            )


# ------------------------------------------------------------------------------
# Second factors
# ------------------------------------------------------------------------------
def second_factor_required(user) -> bool:
    """Superusers and Pilot managers need one in production; anyone may add one."""
    return settings.SECOND_FACTOR_REQUIRED and (
        user.is_superuser or user.groups.filter(name=roles.PILOT_MANAGERS).exists()
    )


class StaffLoginForm(AdminAuthenticationForm):
    """The admin's sign-in: password, then the code of the account's second factor if it has one."""

    otp_token = forms.CharField(
        label=_("Code from your authenticator app (or a backup code)"),
        required=False,
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user_has_device(user):
            return
        token = self.cleaned_data.get("otp_token", "").replace(" ", "")
        if not token:
            raise forms.ValidationError(
                _("Enter the code from your authenticator app."), code="otp_required"
            )
        device = match_token(user, token)
        if device is None:
            security_event_record(
                kind=SecurityEvent.Kind.LOGIN_FAILED,
                user=user,
                request=self.request,
                detail="wrong second-factor code",
            )
            raise forms.ValidationError(
                _("That code is not right or has expired."), code="otp_invalid"
            )
        user.otp_device = device  # django-otp marks the session verified at login


def totp_device_pending(user) -> TOTPDevice:
    """The unconfirmed app device being set up (made on first visit)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)


@dataclass(frozen=True)
class ConfirmedFactor:
    device: TOTPDevice
    backup_codes: list[str]


@transaction.atomic
def second_factor_confirm(*, user, token: str, request: HttpRequest) -> ConfirmedFactor | None:
    """Confirm the pending app device with a code from it, and issue backup codes.

    None when the code is wrong. Earlier backup codes stop working.
    """
    device = totp_device_pending(user)
    if not device.verify_token(token.replace(" ", "")):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    security_event_record(
        kind=SecurityEvent.Kind.SECOND_FACTOR_ADDED, user=user, actor=user, request=request
    )
    return ConfirmedFactor(device, backup_codes_issue(user=user, request=request))


@transaction.atomic
def backup_codes_issue(*, user, request: HttpRequest) -> list[str]:
    """Ten single-use codes for when the phone is lost; the previous set stops working."""
    backup, _ = StaticDevice.objects.get_or_create(
        user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True}
    )
    backup.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=backup, token=code) for code in codes)
    security_event_record(
        kind=SecurityEvent.Kind.BACKUP_CODES_ISSUED, user=user, actor=user, request=request
    )
    return codes


@transaction.atomic
def second_factors_remove(*, user, actor, request: HttpRequest | None = None) -> int:
    """Remove every second factor of ``user`` (a lost phone); returns how many."""
    removed = 0
    for device in devices_for_user(user, confirmed=None):
        device.delete()
        removed += 1
    if removed:
        security_event_record(
            kind=SecurityEvent.Kind.SECOND_FACTOR_REMOVED, user=user, actor=actor, request=request
        )
    return removed


class SecondFactorMiddleware:
    """In production, superusers and Pilot managers reach the admin only with a verified factor.

    Without a confirmed device they are sent to set one up; the sign-in form
    verifies it for everyone who has one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and request.path.startswith(reverse("admin:index"))
            and request.path not in self._always_open()
            and second_factor_required(user)
        ):
            return redirect("second-factor")
        return self.get_response(request)

    @staticmethod
    def _always_open() -> tuple[str, ...]:
        return (reverse("second-factor"), reverse("admin:logout"), reverse("admin:login"))
