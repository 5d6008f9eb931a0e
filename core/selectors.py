"""Read paths of the operations part.

Readiness is what one web process needs to serve (database, cache, broker):
it never depends on beat or the workers, so a stalled scheduler cannot make
a load balancer drain every web server. The status is the whole picture for
operators: scheduler and worker heartbeats, queue depths, dead letters, the
last success of every job. And the staff's e-mail addresses, by group.
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from config.celery_app import app as celery_app
from core.models import DeadLetter, Heartbeat, WorkerHeartbeat

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


def readiness_checks() -> list[Check]:
    """What this web process needs to serve a request; nothing about beat or workers."""
    return [database_check(), cache_check(), broker_check()]


def staff_emails(group: str) -> list[str]:
    """The addresses of the active staff in ``group`` (a name from core.roles)."""
    return list(
        get_user_model()
        .objects.filter(groups__name=group, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .order_by("email")
    )


def staff_emails_by_language(group: str) -> dict[str, list[str]]:
    """``staff_emails(group)`` by the language each chose for the back office (else the default)."""
    users = (
        get_user_model()
        .objects.filter(groups__name=group, is_active=True)
        .exclude(email="")
        .values_list("email", "staff_profile__language")
        .order_by("email")
    )
    by_language: dict[str, list[str]] = {}
    for email, language in users:
        by_language.setdefault(language or settings.LANGUAGE_CODE, []).append(email)
    return by_language


# ------------------------------------------------------------------------------
# The whole picture
# ------------------------------------------------------------------------------
def queue_names() -> list[str]:
    """The queues Pilot Ops sends tasks to: the default one and any routed to."""
    routes = celery_app.conf.task_routes or {}
    routed = {route["queue"] for route in routes.values() if isinstance(route, dict)}
    return sorted({celery_app.conf.task_default_queue, *routed})


def queue_depths() -> dict[str, int]:
    """Messages waiting in each queue (not those a worker holds). Raises when the broker is away."""
    depths = {}
    with celery_app.connection_for_read() as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
        channel = broker.default_channel
        for name in queue_names():
            try:
                depths[name] = channel.queue_declare(queue=name, passive=True).message_count
            except broker.channel_errors:
                depths[name] = 0  # never declared: nothing was ever sent to it
                channel = broker.channel()
    return depths


@dataclass(frozen=True)
class SchedulerState:
    last_seen_at: datetime | None
    age_seconds: float | None
    stale: bool


def scheduler_state(*, now: datetime | None = None) -> SchedulerState:
    now = now or timezone.now()
    heartbeat = Heartbeat.objects.filter(source=Heartbeat.Source.BEAT).first()
    if heartbeat is None:
        return SchedulerState(None, None, True)
    age = (now - heartbeat.last_seen_at).total_seconds()
    return SchedulerState(
        heartbeat.last_seen_at, age, age > settings.BEAT_HEARTBEAT_MAX_AGE_SECONDS
    )


def workers_alive(*, now: datetime | None = None) -> list[WorkerHeartbeat]:
    """Workers whose heartbeat is recent enough to count them as alive."""
    now = now or timezone.now()
    since = now - timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS)
    return list(WorkerHeartbeat.objects.filter(last_seen_at__gte=since))


def dead_letters_waiting() -> int:
    return DeadLetter.objects.filter(status=DeadLetter.Status.DEAD).count()


@dataclass(frozen=True)
class StatusPart:
    """An app's block of /health/status/: what it shows, and whether it needs a person."""

    stale: bool
    detail: dict


# Apps add their blocks (the backups' age, say) with ``status_part_register``.
STATUS_PARTS: dict[str, Callable[[datetime], StatusPart]] = {}


def status_part_register(name: str, read: Callable[[datetime], StatusPart]) -> None:
    """Show ``read(now)`` under ``name`` on /health/status/; a stale part is named in ``stale``."""
    STATUS_PARTS[name] = read


@dataclass
class OperationsStatus:
    """What /health/status/ shows; ``stale`` names every part that needs a person."""

    checks: list[Check]
    scheduler: SchedulerState
    workers: list[WorkerHeartbeat]
    queues: dict[str, int] | None  # None when the broker could not be asked
    dead_letters: int
    last_success_by_job: dict[str, datetime]
    parts: dict[str, StatusPart | None] = field(default_factory=dict)  # None: database away
    stale: list[str] = field(default_factory=list)


def operations_status(*, now: datetime | None = None) -> OperationsStatus:
    from core.maintenance import last_success_by_job

    now = now or timezone.now()
    checks = readiness_checks()
    database_up = checks[0].ok
    try:
        queues = queue_depths()
    except Exception as error:  # noqa: BLE001
        _failed("queues", error)
        queues = None
    status = OperationsStatus(
        checks=checks,
        scheduler=scheduler_state(now=now) if database_up else SchedulerState(None, None, True),
        workers=workers_alive(now=now) if database_up else [],
        queues=queues,
        dead_letters=dead_letters_waiting() if database_up else 0,
        last_success_by_job=last_success_by_job() if database_up else {},
        parts={name: read(now) if database_up else None for name, read in STATUS_PARTS.items()},
    )
    status.stale = [check.name for check in checks if not check.ok]
    if status.scheduler.stale:
        status.stale.append("scheduler")
    if not status.workers:
        status.stale.append("workers")
    if status.dead_letters:
        status.stale.append("dead_letters")
    status.stale += [name for name, part in status.parts.items() if part is not None and part.stale]
    return status
