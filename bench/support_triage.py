"""Benchmark: the triage list and an outage-sized SLA sweep, at helpdesk scale.

Seeds tickets into a scratch database and reports:

* the triage changelist's first page: time and query count at 1,000 and at
  100,000 tickets (target: under 150 ms, at most 10 queries, the same count);
* one ``sla_sweep`` after an outage, when 40,000 tickets fall due at once
  (target: all marked and notified in under 30 s).

For comparison, the most-used helpdesk for Django needs 0.8 s for its list
and 3.5 to 5 minutes to escalate that many on this kind of machine.

    .venv/bin/python bench/support_triage.py                      # SQLite, scratch file
    .venv/bin/python bench/support_triage.py --database-url postgres://postgres@127.0.0.1/pilotops_bench

With --database-url the database is emptied first (use a scratch database).
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from scratch import scratch_dir  # bench/scratch.py: removed when the run ends

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
parser = argparse.ArgumentParser()
parser.add_argument("--database-url", default="")
parser.add_argument("--tickets", type=int, default=100_000)
parser.add_argument("--outage", type=int, default=40_000)
args = parser.parse_args()

os.environ["PILOTOPS_VAR_DIR"] = scratch_dir()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["LOG_LEVEL"] = "WARNING"
os.environ["EMAIL_URL"] = "dummymail://"
if args.database_url:
    os.environ["DATABASE_URL"] = args.database_url
else:
    os.environ.pop("DATABASE_URL", None)

import django

django.setup()

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import roles
from support import services
from support.models import Ticket, TicketEvent

LIST_TARGET_MS = 150
LIST_MAX_QUERIES = 10
SWEEP_TARGET_S = 30


def seed(count: int, *, template: Ticket, **overrides) -> None:
    fields = {
        f.attname: getattr(template, f.attname)
        for f in Ticket._meta.concrete_fields
        if f.attname not in ("id", "reference", "title")
    }
    fields.update(overrides)
    start = Ticket.objects.count()
    batch = 5000
    for offset in range(0, count, batch):
        Ticket.objects.bulk_create(
            Ticket(
                **fields, reference=f"B-{start + offset + n}", title=f"Ticket {start + offset + n}"
            )
            for n in range(min(batch, count - offset))
        )


def first_page(client: Client) -> tuple[float, int]:
    timings, queries = [], 0
    for _ in range(5):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get("/admin/support/ticket/")
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200
        queries = len(captured)
    return statistics.median(timings) * 1000, queries


def main() -> None:
    call_command("migrate", verbosity=0)
    if args.database_url:
        Ticket.objects.all().delete()
    admin = get_user_model().objects.create_superuser("bench", "bench@pilotops.example", "x")
    lead = get_user_model().objects.create_user("lead", "lead@pilotops.example", is_staff=True)
    lead.groups.add(Group.objects.get(name=roles.SUPPORT_LEADS))
    client = Client()
    client.force_login(admin)
    now = timezone.now()
    calm = services.ticket_create(title="template", priority="P3", now=now)
    far = now + timedelta(days=365)

    seed(1000 - 1, template=calm, next_sla_check_at=far)
    small_ms, small_queries = first_page(client)
    seed(args.tickets - 1000, template=calm, next_sla_check_at=far)
    large_ms, large_queries = first_page(client)

    two_days_ago = now - timedelta(days=2)
    urgent = services.ticket_create(title="outage template", priority="P1", now=two_days_ago)
    urgent.assignee = admin
    seed(args.outage - 1, template=urgent)
    Ticket.objects.filter(pk=urgent.pk).update(assignee=admin)
    due = Ticket.objects.filter(next_sla_check_at__lte=now).count()

    started = time.perf_counter()
    summary = services.sla_sweep(now=now)
    sweep_s = time.perf_counter() - started
    marks = TicketEvent.objects.exclude(sla_mark="").count()

    vendor = connection.vendor
    print(f"{vendor}: triage list first page (median of 5)")
    print(f"  {1000:>7} tickets: {small_ms:7.1f} ms, {small_queries} queries")
    print(f"  {args.tickets:>7} tickets: {large_ms:7.1f} ms, {large_queries} queries")
    print(
        f"  target: under {LIST_TARGET_MS} ms, at most {LIST_MAX_QUERIES} queries, same count"
        f" -> {large_ms / LIST_TARGET_MS:.2f} of the time budget;"
        f" the most-used Django helpdesk: 800 ms"
    )
    print(f"{vendor}: SLA sweep after an outage")
    print(
        f"  {due} tickets due: {sweep_s:.1f} s, {summary.checked} checked, {marks} marks,"
        f" {summary.notified} e-mail(s)"
    )
    print(
        f"  target: under {SWEEP_TARGET_S} s -> {sweep_s / SWEEP_TARGET_S:.2f} of the budget;"
        f" the most-used Django helpdesk: 210-300 s"
    )


if __name__ == "__main__":
    main()
