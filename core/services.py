"""State changes of the operations part."""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from core.logging import redact_contact_data
from core.models import DeadLetter, Event, Heartbeat, StaffProfile, WorkerHeartbeat
from core.roles import roles_apply

# Who made a change: a staff member, or None when the system did.
Actor = AbstractBaseUser | None


@transaction.atomic
def heartbeat_record(
    *, source: str = Heartbeat.Source.BEAT, at: datetime | None = None
) -> Heartbeat:
    """Record that ``source`` was alive at ``at`` (now by default).

    One row per source: running it twice, on two workers at once or out of
    order leaves one row holding the latest time and counts every beat. When
    two first beats race to create the row, the one that loses the insert
    counts itself on the row the other made.
    """
    at = at or timezone.now()
    beat = Heartbeat.objects.filter(source=source)
    advance = {"last_seen_at": Greatest(F("last_seen_at"), Value(at)), "beats": F("beats") + 1}
    if not beat.update(**advance):
        try:
            with transaction.atomic():
                Heartbeat.objects.create(source=source, last_seen_at=at, beats=1)
        except IntegrityError:
            beat.update(**advance)
    return beat.get()


@transaction.atomic
def roles_sync() -> None:
    """Bring the staff groups' permissions in line with `core.roles.ROLES`."""
    roles_apply(group_model=Group, permission_model=Permission)


@dataclass(frozen=True)
class DemoAdmin:
    username: str
    password: str | None  # None when an existing password was kept
    created: bool


# Each app adds its demo data (``demo_seed_register`` in its AppConfig.ready);
# ``seed_demo`` runs them in the order the apps are installed.
DEMO_SEEDS: list[Callable[[], str]] = []


def demo_seed_register(seed: Callable[[], str]) -> None:
    """``seed()`` makes what is missing of an app's demo data and says what it did."""
    if seed not in DEMO_SEEDS:
        DEMO_SEEDS.append(seed)


@transaction.atomic
def demo_admin_ensure(*, username: str, password: str) -> DemoAdmin:
    """Make sure the demo superuser exists and can log in.

    With a password given, the account gets exactly that password each time
    (so the printed login is always right). Without one, a new account gets
    a random password, returned once; an existing account keeps its own.
    """
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username, defaults={"is_staff": True, "is_superuser": True}
    )
    if not (user.is_staff and user.is_superuser and user.is_active):
        user.is_staff = user.is_superuser = user.is_active = True
        user.save(update_fields=["is_staff", "is_superuser", "is_active"])
    if not password and not created:
        return DemoAdmin(username=username, password=None, created=False)
    password = password or secrets.token_urlsafe(18)
    user.set_password(password)
    user.save(update_fields=["password"])
    return DemoAdmin(username=username, password=password, created=created)


def event_record(
    *,
    subject: models.Model,
    action: str,
    message: str,
    actor: AbstractBaseUser | None = None,
    data: dict | None = None,
) -> Event:
    """Add an entry to ``subject``'s history. Called inside the caller's transaction."""
    event = Event(
        subject_type=ContentType.objects.get_for_model(subject),
        subject_id=subject.pk,
        action=action,
        message=message,
        actor=actor if actor is not None and actor.is_authenticated else None,
        data=data or {},
    )
    event.full_clean()
    event.save()
    return event


def editable_fields_apply(
    instance: models.Model, changes: dict, *, allowed: tuple[str, ...], error: type[ValidationError]
) -> None:
    """Set ``changes`` on ``instance`` when each field is in ``allowed``; else raise ``error``."""
    unknown = set(changes) - set(allowed)
    if unknown:
        raise error(f"Not editable here: {', '.join(sorted(unknown))}.")
    for name, value in changes.items():
        setattr(instance, name, value)


# ------------------------------------------------------------------------------
# Workers and dead letters
# ------------------------------------------------------------------------------
def worker_heartbeat_record(*, hostname: str, at: datetime | None = None) -> WorkerHeartbeat:
    """Record that the worker ``hostname`` is alive (one row per worker, bumped in place)."""
    at = at or timezone.now()
    if not WorkerHeartbeat.objects.filter(hostname=hostname).update(last_seen_at=at):
        WorkerHeartbeat.objects.update_or_create(
            hostname=hostname, defaults={"started_at": at, "last_seen_at": at}
        )
    return WorkerHeartbeat.objects.get(hostname=hostname)


def worker_heartbeat_forget(*, hostname: str) -> None:
    """A worker that stops cleanly says so: it is no longer counted, not even as stale."""
    WorkerHeartbeat.objects.filter(hostname=hostname).delete()


def _masked(value):
    if isinstance(value, str):
        return redact_contact_data(value)
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _masked(item) for key, item in value.items()}
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_contact_data(repr(value))


@transaction.atomic
def dead_letter_record(
    *, task_name: str, task_id: str, args: list, kwargs: dict, retries: int, error: str
) -> DeadLetter:
    """Keep a task that failed for good; once per task id (a redelivered failure adds nothing)."""
    arguments = {"args": list(args), "kwargs": dict(kwargs)}
    masked = _masked(arguments)
    dead_letter, _ = DeadLetter.objects.get_or_create(
        task_id=task_id,
        defaults={
            "task_name": task_name,
            "arguments": masked,
            "arguments_masked": masked != arguments,
            "retries": retries,
            "error": redact_contact_data(error)[-4000:],
            "failed_at": timezone.now(),
        },
    )
    return dead_letter


class DeadLetterError(ValidationError):
    """A dead letter that cannot be requeued or discarded (again)."""


def _dead_letter_handle(*, dead_letter: DeadLetter, status: str, actor) -> DeadLetter:
    handled = DeadLetter.objects.filter(pk=dead_letter.pk, status=DeadLetter.Status.DEAD).update(
        status=status,
        handled_at=timezone.now(),
        handled_by=actor if actor is not None and actor.is_authenticated else None,
        updated_at=timezone.now(),
    )
    if not handled:
        raise DeadLetterError(
            f"{dead_letter.task_name} ({dead_letter.task_id}) was already handled."
        )
    dead_letter.refresh_from_db()
    event_record(
        subject=dead_letter,
        action=f"dead_letter_{status}",
        message=f"{DeadLetter.Status(status).label}.",
        actor=actor,
    )
    return dead_letter


@transaction.atomic
def dead_letter_requeue(*, dead_letter: DeadLetter, actor=None) -> DeadLetter:
    """Send the task again with its arguments (once the change is committed)."""
    from config.celery_app import app

    if dead_letter.arguments_masked:
        raise DeadLetterError(
            f"{dead_letter.task_name} ({dead_letter.task_id}) carried contact data, which is "
            "not kept: run it again from where it started, then discard this one."
        )
    dead_letter = _dead_letter_handle(
        dead_letter=dead_letter, status=DeadLetter.Status.REQUEUED, actor=actor
    )
    arguments = dead_letter.arguments
    transaction.on_commit(
        lambda: app.send_task(
            dead_letter.task_name, args=arguments["args"], kwargs=arguments["kwargs"]
        )
    )
    return dead_letter


@transaction.atomic
def dead_letter_discard(*, dead_letter: DeadLetter, actor=None) -> DeadLetter:
    """Decide that a failed task is not to be run again."""
    return _dead_letter_handle(
        dead_letter=dead_letter, status=DeadLetter.Status.DISCARDED, actor=actor
    )


@transaction.atomic
def staff_language_set(*, user: AbstractBaseUser, language: str) -> StaffProfile:
    """The language the back office speaks to ``user`` from their next page on."""
    profile, _ = StaffProfile.objects.get_or_create(user=user)
    profile.language = language
    profile.full_clean()
    profile.save()
    return profile
