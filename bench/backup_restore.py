"""Benchmark: backup and restore at 1,000,000 feedback rows, and the RTO that gives.

Seeds a scratch database with a month of feedback (50 cafés in one pilot,
rows inserted with COPY on PostgreSQL, executemany on SQLite), then times
what the product does: ``backup_create`` (pg_dump --format=custom of one
snapshot, with the manifest's row counts), ``backup_verify`` (pg_restore
into a scratch database, every table counted against the manifest, dropped)
and ``restore`` into a new database. Prints the figures and the RTO they
give: the restore, plus the steps of the switch (migrate, restart).

    .venv/bin/python bench/backup_restore.py --database-url postgres://postgres@127.0.0.1/pilotops_bench_backup
    .venv/bin/python bench/backup_restore.py          # SQLite, scratch file

With --database-url the database must be a new, empty scratch database; the
databases the verification and the restore make next to it are dropped.
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

from scratch import scratch_dir  # bench/scratch.py: removed when the run ends

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
parser = argparse.ArgumentParser()
parser.add_argument("--database-url", default="")
parser.add_argument("--feedback", type=int, default=1_000_000)
parser.add_argument("--cafes", type=int, default=50)
args = parser.parse_args()

scratch = scratch_dir()
os.environ["PILOTOPS_VAR_DIR"] = scratch
os.environ["BACKUP_DIR"] = str(Path(scratch) / "backups")
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

from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from seeding import FEEDBACK_COLUMNS, insert_rows, pilot_with_cafes  # bench/seeding.py

from backups import postgres, sqlite
from backups.services import backup_create, backup_restore, backup_verify
from pilots.models import Feedback

random.seed(19)
COMMENTS = [
    "Kanelbullen var färsk och personalen trevlig.",
    "Long queue at the counter, but the latte was good.",
    "Det var stökigt vid borden i fönstret.",
    "",
]


def seed(count: int) -> float:
    pilot, sites = pilot_with_cafes(args.cafes, name="Backup bench", slug="backup-bench")
    now = timezone.now()

    def rows():
        for n in range(count):
            enrollment, business, code = sites[n % len(sites)]
            submitted = now - timedelta(seconds=random.random() * 30 * 86400)
            yield (
                submitted,
                submitted,
                business,
                pilot.pk,
                enrollment,
                code,
                random.randint(1, 5),
                json.dumps(["coffee"] if n % 3 else []),
                random.choice(COMMENTS),
                "sv",
                random.randint(0, 100),
                2,
                "",
                "",
                False,
                "accepted",
                f"{n:064x}",
                submitted,
                False,
                f"{n:064x}",
                "",
            )

    started = time.perf_counter()
    insert_rows(Feedback, FEEDBACK_COLUMNS, rows())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def main() -> None:
    engine = postgres if connection.vendor == "postgresql" else sqlite
    print(f"{connection.vendor}: migrating and seeding {args.feedback:,} feedback rows…")
    call_command("migrate", verbosity=0)
    seeded = seed(args.feedback)
    print(f"seeded in {seeded:.0f} s")

    made = backup_create()
    verified = backup_verify(name=made.name)
    if engine is postgres:
        target = f"{connection.settings_dict['NAME'][:40]}_bench_restored"
    else:
        target = str(Path(scratch) / "restored.sqlite3")
    started = time.perf_counter()
    result = backup_restore(name=made.name, target=target)
    restored = time.perf_counter() - started
    engine.drop(database=connection.settings_dict, target=target)
    started = time.perf_counter()
    call_command("migrate", "--check", verbosity=0)
    migrate_check = time.perf_counter() - started

    rows = made.row_counts["pilots_feedback"]
    print()
    print("| what | figure |")
    print("| --- | --- |")
    print(f"| feedback rows | {rows:,} |")
    print(f"| tables, rows in all | {len(made.row_counts)}, {sum(made.row_counts.values()):,} |")
    print(f"| dump size | {made.size_bytes / 1024 / 1024:.0f} MB |")
    print(f"| backup_create (dump, counts, checksum) | {made.duration_seconds:.1f} s |")
    print(
        f"| backup_verify (restore into scratch, count every table) | "
        f"{verified.restore_seconds:.1f} s |"
    )
    print(f"| restore into a new database (checksum, restore, counts) | {restored:.1f} s |")
    print(f"| migrate --check on the live database | {migrate_check:.1f} s |")
    print()
    print(
        f"RTO at this size: about {restored / 60:.1f} min for the data, plus the switch "
        "(set DATABASE_URL, migrate, restart: minutes), against the 4 h promised."
    )
    assert result.restored.snapshot.row_counts == made.row_counts


if __name__ == "__main__":
    main()
