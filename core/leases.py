"""Leases: one holder at a time for a named piece of work, across every process and machine.

Every change is a single conditional UPDATE (or an INSERT that the primary
key lets only one process win), so it needs no row lock held for the length
of the work: on SQLite a long transaction would block every other writer.
A holder renews its lease while it works; when it stops renewing (it was
killed), anyone may take the lease once it has expired.
"""

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.models import Lease


class LeaseLost(Exception):
    """The lease expired and another process took it over: stop working on its behalf."""


def lease_holder_name() -> str:
    """Who holds a lease: host, process and a random part (unique per call)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def lease_acquire(*, name: str, holder: str, seconds: float) -> bool:
    """Take ``name`` for ``seconds`` if it is free, expired, or already ``holder``'s."""
    now = timezone.now()
    until = now + timedelta(seconds=seconds)
    taken = (
        Lease.objects.filter(name=name)
        .filter(Q(expires_at__lte=now) | Q(holder=holder))
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
