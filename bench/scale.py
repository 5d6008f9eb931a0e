"""Benchmark: the pages a manager and an agent open first, at 1,000 and at 1,000,000 rows.

Seeds a scratch database the way a successful month looks (500 cafés in one
pilot, feedback spread over 30 days, the daily snapshots the daily job
takes; tickets mostly closed, some open, breached and due soon), then
prints each page's median time of 5 through Django's test client and its
query count, at the small and the large size, with the ratio large ÷ small.

Targets: at the large size each page at most 1.2 × its small time, under
150 ms, with the same number of queries; search under 150 ms on PostgreSQL.

    .venv/bin/python bench/scale.py                     # SQLite, scratch file
    .venv/bin/python bench/scale.py --database-url postgres://postgres@127.0.0.1/pilotops_bench

With --database-url the database must be a new, empty scratch database.
Rows are inserted in bulk (executemany on SQLite, COPY on PostgreSQL).
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from scratch import scratch_dir  # bench/scratch.py: removed when the run ends

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
parser = argparse.ArgumentParser()
parser.add_argument("--database-url", default="")
parser.add_argument("--feedback", type=int, default=1_000_000)
parser.add_argument("--tickets", type=int, default=1_000_000)
parser.add_argument("--small", type=int, default=1_000)
parser.add_argument("--cafes", type=int, default=500)
args = parser.parse_args()

os.environ["PILOTOPS_VAR_DIR"] = scratch_dir()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["LOG_LEVEL"] = "WARNING"
os.environ["EMAIL_URL"] = "dummymail://"
os.environ.pop("CACHE_URL", None)
if args.database_url:
    os.environ["DATABASE_URL"] = args.database_url
else:
    os.environ.pop("DATABASE_URL", None)

import django

django.setup()

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from seeding import FEEDBACK_COLUMNS, insert_rows, pilot_with_cafes  # bench/seeding.py

from pilots import services
from pilots.models import Category, Feedback, ScanCount
from support import services as support
from support import sla
from support.models import Ticket

TARGET_MS = 150
RATIO_MAX = 1.2
SEARCH_WORD = "kardemumma"
WORDS = [
    "kaffe",
    "bulle",
    "personal",
    "trevlig",
    "kö",
    "lång",
    "kassa",
    "bord",
    "rent",
    "stökigt",
    "musik",
    "pris",
    "dyrt",
    "billigt",
    "coffee",
    "bun",
    "staff",
    "friendly",
    "queue",
    "long",
    "till",
    "table",
    "clean",
    "messy",
    "music",
    "price",
    "cheap",
    "latte",
    "macka",
    "sallad",
    "soppa",
    "te",
    "choklad",
    "service",
    "väntan",
    "snabb",
    "långsam",
    "fönster",
    "utsikt",
]
random.seed(16)


def feedback_rows(count: int, pilot, sites, offset: int):
    now = timezone.now()
    month = 30 * 86400
    for n in range(count):
        enrollment, business, code = sites[(offset + n) % len(sites)]
        submitted = now - timedelta(seconds=random.random() * month)
        words = random.sample(WORDS, 8)
        if random.random() < 0.01:
            words.append(SEARCH_WORD + "bullen")
        comment = " ".join(words).capitalize() + "." if random.random() < 0.9 else ""
        categories = json.dumps(random.sample(Category.values, random.randint(0, 2)))
        yield (
            submitted,
            submitted,
            business,
            pilot.pk,
            enrollment,
            code,
            random.randint(1, 5),
            categories,
            comment,
            "sv",
            random.randint(0, 100),
            random.choice((1, 2)),
            "",
            "",
            False,
            "spam" if random.random() < 0.02 else "accepted",
            f"{offset + n:064x}",
            submitted,
            False,
            f"{offset + n:064x}",
            "",
        )


def seed_feedback(count: int, pilot, sites, offset: int) -> float:
    started = time.perf_counter()
    insert_rows(Feedback, FEEDBACK_COLUMNS, feedback_rows(count, pilot, sites, offset))
    today = timezone.localdate()
    ScanCount.objects.all().delete()
    scans_per_day = max(count // 30 // len(sites) * 3 // 2, 1)
    insert_rows(
        ScanCount,
        ["qr_code_id", "business_id", "pilot_id", "day", "scans"],
        (
            (code, business, pilot.pk, today - timedelta(days=back), scans_per_day)
            for _, business, code in sites
            for back in range(31)
        ),
    )
    for back in range(1, 31):  # what the daily job has taken by now
        services.daily_metrics_take(day=today - timedelta(days=back))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return time.perf_counter() - started


def seed_tickets(count: int, agent) -> float:
    """Tickets as a helpdesk holds them: 95 % done; the open ones due over the next days,
    some breached, a fifth assigned to the measuring agent."""
    started = time.perf_counter()
    now = timezone.now()
    template = support.ticket_create(title="template", priority="P2", now=now)
    columns = [
        f.attname
        for f in Ticket._meta.concrete_fields
        if f.attname not in ("id", "reference", "title")
    ]
    base = {name: getattr(template, name) for name in columns}
    done = {Ticket.Status.RESOLVED, Ticket.Status.CLOSED}
    start = Ticket.objects.count()

    def rows():
        for n in range(count):
            row = dict(base)
            row["created_at"] = row["updated_at"] = now - timedelta(minutes=n % 40_000)
            row["response_due_at"] = now + timedelta(minutes=(n * 7) % 6000 - 600)
            row["resolution_due_at"] = row["response_due_at"] + timedelta(hours=30)
            row["status"] = Ticket.Status.IN_PROGRESS if n % 20 == 0 else Ticket.Status.CLOSED
            row["assignee_id"] = agent.pk if n % 100 == 0 else None
            row["response_breached_at"] = now if n % 60 == 0 else None
            row["next_sla_check_at"] = now + timedelta(days=365)
            ticket = Ticket(**{k: v for k, v in row.items()})
            ticket.status = row["status"]
            sla.urgency_refresh(ticket)
            row["urgency_rank"], row["urgency_due_at"] = ticket.urgency_rank, ticket.urgency_due_at
            assert (row["status"] in done) == (ticket.urgency_rank >= 2)
            yield (
                *(row[name] for name in columns),
                f"B-{start + n}",
                f"{random.choice(WORDS).capitalize()} {random.choice(WORDS)} ticket {start + n}",
            )

    insert_rows(
        Ticket, [Ticket._meta.get_field(c).column for c in columns] + ["reference", "title"], rows()
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return time.perf_counter() - started


def measure(client: Client, path: str) -> tuple[float, int]:
    timings, queries = [], 0
    client.get(path)  # warm the connection and caches
    for _ in range(5):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path)
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
        queries = len(captured)
    return statistics.median(timings) * 1000, queries


def report(title: str, small: dict, large: dict, small_n: int, large_n: int) -> None:
    print(f"{connection.vendor}: {title} — median of 5, {small_n:,} → {large_n:,} rows")
    for page, (small_ms, small_q) in small.items():
        large_ms, large_q = large[page]
        ratio = large_ms / small_ms
        verdict = (
            "met"
            if ratio <= RATIO_MAX and large_ms < TARGET_MS and small_q == large_q
            else "NOT met"
        )
        print(
            f"  {page:<28} {small_ms:7.1f} ms {small_q:>3} q → {large_ms:7.1f} ms {large_q:>3} q"
            f"   × {ratio:4.2f}  [{verdict}]"
        )


def main() -> None:
    call_command("migrate", verbosity=0)
    admin = get_user_model().objects.create_superuser("bench", "bench@pilotops.example", "x")
    client = Client()
    client.force_login(admin)
    pilot, sites = pilot_with_cafes(args.cafes, name="Scale pilot", slug="scale")
    business = sites[len(sites) // 2][1]
    feedback_pages = {
        "feedback changelist": "/admin/pilots/feedback/",
        "feedback by business": f"/admin/pilots/feedback/?business__id__exact={business}",
        f"feedback search ?q={SEARCH_WORD}": f"/admin/pilots/feedback/?q={SEARCH_WORD}",
        "admin index (dashboard)": "/admin/",
        "pilot success report": f"/admin/pilots/pilot/{pilot.pk}/report/",
    }
    ticket_pages = {
        "triage list": "/admin/support/ticket/",
        "triage: mine": "/admin/support/ticket/?queue=mine",
        "triage: breached": "/admin/support/ticket/?queue=breached",
        "triage: due within 1 hour": "/admin/support/ticket/?queue=due_soon",
        "ticket search": "/admin/support/ticket/?q=kaffe",
    }

    seeded = seed_feedback(args.small, pilot, sites, 0)
    small = {name: measure(client, path) for name, path in feedback_pages.items()}
    seeded += seed_feedback(args.feedback - args.small, pilot, sites, args.small)
    large = {name: measure(client, path) for name, path in feedback_pages.items()}
    print(f"seeded {args.feedback:,} feedback and 30 days of snapshots in {seeded:.0f} s")
    report("manager pages", small, large, args.small, args.feedback)

    seeded = seed_tickets(args.small, admin)
    small = {name: measure(client, path) for name, path in ticket_pages.items()}
    seeded += seed_tickets(args.tickets - args.small, admin)
    large = {name: measure(client, path) for name, path in ticket_pages.items()}
    print(f"seeded {args.tickets:,} tickets in {seeded:.0f} s")
    report("support pages", small, large, args.small, args.tickets)


if __name__ == "__main__":
    main()
