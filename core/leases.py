"""Leases: one holder at a time for a named piece of work, across every process and machine.

Every change is a single conditional UPDATE (or an INSERT that the primary
key lets only one process win), so it needs no row lock held for the length
of the work: on SQLite a long transaction would block every other writer.
A holder renews its lease while it works; when it stops renewing (it was
killed), anyone may take the lease once it has expired. A holder on this
same machine whose process no longer exists is known to be dead at once, so
its lease is taken over without waiting for the expiry (a zombie, a process
killed but not yet reaped by its parent, still counts as alive until then).
"""

import hashlib
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.models import Lease


class LeaseLost(Exception):
    """The lease expired and another process took it over: stop working on its behalf."""


def _process_space() -> str:
    """An id of the set of processes this one can see: the kernel's boot and the pid namespace.

    Two containers on one host may share a hostname but never this; on
    systems without /proc it is empty and no holder is ever judged dead.
    """
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
    return hashlib.sha256(f"{boot}/{namespace}".encode()).hexdigest()[:12]


PROCESS_SPACE = _process_space()


def lease_holder_name() -> str:
    """Who holds a lease: host, process space, process and a random part (unique per call)."""
    host = socket.gethostname()[:60]
    return f"{host}:{PROCESS_SPACE}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def holder_is_dead(holder: str) -> bool:
    """True when ``holder`` was a process this one can see, and it no longer exists."""
    parts = holder.rsplit(":", 3)
    if len(parts) != 4 or not PROCESS_SPACE or parts[1] != PROCESS_SPACE:
        return False
    if not parts[2].isdigit() or int(parts[2]) == os.getpid():
        return False
    try:
        os.kill(int(parts[2]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, run by another user
        return False
    return False


def lease_acquire(*, name: str, holder: str, seconds: float) -> bool:
    """Take ``name`` for ``seconds`` if it is free, expired, already ``holder``'s,
    or held by a process of this machine that has died."""
    now = timezone.now()
    until = now + timedelta(seconds=seconds)
    free = Q(expires_at__lte=now) | Q(holder=holder)
    current = Lease.objects.filter(name=name).values_list("holder", flat=True).first()
    if current is not None and current != holder and holder_is_dead(current):
        free |= Q(holder=current)
    taken = (
        Lease.objects.filter(name=name)
        .filter(free)
        .update(holder=holder, acquired_at=now, expires_at=until)
    )
    if taken:
        return True
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, holder=holder, acquired_at=now, expires_at=until)
    except IntegrityError:  # someone else holds it
        return False
    return True


def lease_renew(*, name: str, holder: str, seconds: float) -> bool:
    """Extend ``holder``'s lease; False when another process has taken it over."""
    until = timezone.now() + timedelta(seconds=seconds)
    return bool(Lease.objects.filter(name=name, holder=holder).update(expires_at=until))


def lease_release(*, name: str, holder: str) -> None:
    """Give the lease up now, if ``holder`` still has it."""
    Lease.objects.filter(name=name, holder=holder).update(expires_at=timezone.now())


@dataclass
class HeldLease:
    name: str
    holder: str
    seconds: float

    def renew(self) -> None:
        """Call between steps of the work; raises LeaseLost if another process took over."""
        if not lease_renew(name=self.name, holder=self.holder, seconds=self.seconds):
            raise LeaseLost(f"the lease {self.name!r} was taken over by another process")


@contextmanager
def lease_held(name: str, *, seconds: float) -> Iterator[HeldLease | None]:
    """Hold ``name`` for the block (None when someone else holds it); released at the end."""
    holder = lease_holder_name()
    if not lease_acquire(name=name, holder=holder, seconds=seconds):
        yield None
        return
    try:
        yield HeldLease(name=name, holder=holder, seconds=seconds)
    finally:
        lease_release(name=name, holder=holder)
