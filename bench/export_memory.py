"""Benchmark: peak memory while streaming a large feedback CSV export.

Target (issue H): a streamed export of 200,000 feedback rows keeps the
process's memory under 150 MB. Seeds the rows into a scratch SQLite database
(by doubling one row with INSERT ... SELECT), then, in a fresh process so the
seeding's memory does not count, streams ``/admin/pilots/feedback/export.csv``
through Django's test client chunk by chunk and prints that process's peak
resident memory.

    .venv/bin/python bench/export_memory.py [--rows 200000]
"""

import argparse
import os
import resource
import sys
from pathlib import Path

from scratch import scratch_dir  # bench/scratch.py: removed when the run ends

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
parser = argparse.ArgumentParser()
parser.add_argument("--rows", type=int, default=200_000)
parser.add_argument("--export-from", help=argparse.SUPPRESS)  # the second process's var dir
args = parser.parse_args()
os.environ["PILOTOPS_VAR_DIR"] = args.export_from or scratch_dir()
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
os.environ["LOG_LEVEL"] = "WARNING"
os.environ.pop("DATABASE_URL", None)

import django

django.setup()

import subprocess

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from pilots.models import Business, Feedback
from pilots.services import qr_codes_generate

TARGET_MB = 150


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def seed() -> None:
    call_command("migrate", verbosity=0)
    business = Business.objects.create(
        name="Bench café", slug="bench", city="Stockholm", expected_daily_customers=500
    )
    (code,) = qr_codes_generate(business=business, placements=["Table 1"])
    Feedback.objects.create(
        business=business,
        qr_code=code,
        rating=4,
        categories=["service"],
        comment="The cardamom bun was fresh and the barista friendly; the queue was short. " * 3,
        language="sv",
        quality_score=70,
        client_hash="0" * 64,
        submitted_at=timezone.now(),
    )
    columns = ", ".join(
        connection.ops.quote_name(f.column)
        for f in Feedback._meta.concrete_fields
        if f.name != "id"
    )
    table = connection.ops.quote_name(Feedback._meta.db_table)
    with connection.cursor() as cursor:
        while Feedback.objects.count() < args.rows:
            cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table}")
        cursor.execute(
            f"DELETE FROM {table} WHERE id > (SELECT MIN(id) FROM {table}) + %s",
            [args.rows - 1],
        )
    get_user_model().objects.create_superuser("bench", "b@example.se", "x")


def export() -> None:
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    before = peak_mb()
    response = client.get("/admin/pilots/feedback/export.csv")
    lines = size = 0
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
        size += len(chunk)
    after = peak_mb()
    print(f"{args.rows} feedback rows exported as {lines - 1} CSV rows ({size / 1e6:.1f} MB)")
    print(
        f"peak memory of the exporting process: {after:.0f} MB (before the export: "
        f"{before:.0f} MB); target under {TARGET_MB} MB -> {after / TARGET_MB:.2f} of the budget"
    )
    if lines - 1 != args.rows:
        raise SystemExit("the export lost rows")


def main() -> None:
    if args.export_from:
        export()
        return
    seed()
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--rows",
            str(args.rows),
            "--export-from",
            os.environ["PILOTOPS_VAR_DIR"],
        ],
        check=True,
    )


if __name__ == "__main__":
    main()
