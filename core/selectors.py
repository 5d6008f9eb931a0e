"""Read paths of the operations part: readiness of the parts Pilot Ops depends on, staff."""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from config.celery_app import app as celery_app
from core.models import Heartbeat

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _failed(name: str, error: Exception) -> Check:
    # The class name only: messages can carry host names and credentials.
    logger.warning("readiness check %s failed: %s", name, error)
    return Check(name, False, f"{type(error).__name__}")


def database_check() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 - any failure means "not ready"
        return _failed("database", error)
    return Check("database", True, connection.vendor)


def cache_check() -> Check:
    key, value = "health:ready", uuid.uuid4().hex
    try:
        cache.set(key, value, timeout=10)
        if cache.get(key) != value:
            return Check("cache", False, "value written was not read back")
    except Exception as error:  # noqa: BLE001
        return _failed("cache", error)
    return Check("cache", True, "read back what was written")


def broker_check() -> Check:
    try:
        with celery_app.connection_for_write() as broker:
            broker.ensure_connection(
                max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS
            )
            transport = broker.transport_cls
    except Exception as error:  # noqa: BLE001
        return _failed("broker", error)
    return Check("broker", True, str(transport))


def scheduler_check(*, now: datetime | None = None) -> Check:
    now = now or timezone.now()
    try:
        heartbeat = Heartbeat.objects.filter(source=Heartbeat.Source.BEAT).first()
    except Exception as error:  # noqa: BLE001
        return _failed("scheduler", error)
    if heartbeat is None:
        return Check("scheduler", False, "no heartbeat from celery beat yet")
    age = (now - heartbeat.last_seen_at).total_seconds()
    if age > settings.BEAT_HEARTBEAT_MAX_AGE_SECONDS:
        return Check("scheduler", False, f"last heartbeat {age:.0f} s ago")
    return Check("scheduler", True, f"last heartbeat {age:.0f} s ago")


def readiness_checks() -> list[Check]:
    return [database_check(), cache_check(), broker_check(), scheduler_check()]


def staff_emails(group: str) -> list[str]:
    """The addresses of the active staff in ``group`` (a name from core.roles)."""
    return list(
        get_user_model()
        .objects.filter(groups__name=group, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .order_by("email")
    )
