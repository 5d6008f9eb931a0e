"""Benchmark: issue 100 QR codes and print the sheet of table cards for them.

Target (issue B): generating 100 codes and the sheet for them takes under 3 s.
Runs on a scratch SQLite database under a temporary folder, so it never
touches the real one. Usage:

    .venv/bin/python bench/qr_sheet.py [--codes 100] [--rounds 3]

Prints the best and median wall time of each stage over the rounds, and the
share of the 3 s budget they use (times vary on a shared machine: compare
the ratios within one run).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from scratch import scratch_dir  # bench/scratch.py: removed when the run ends

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["PILOTOPS_VAR_DIR"] = scratch_dir()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.pop("DATABASE_URL", None)

import django

django.setup()

from django.core.management import call_command

from pilots.models import Business
from pilots.printing import sheet_html, sheet_pdf
from pilots.selectors import qr_codes_active
from pilots.services import qr_codes_generate

BUDGET_SECONDS = 3.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--codes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    stages: dict[str, list[float]] = {"generate": [], "sheet html": [], "sheet pdf": []}
    for round_number in range(args.rounds):
        business = Business.objects.create(
            name=f"Bench café {round_number}",
            slug=f"bench-cafe-{round_number}",
            city="Stockholm",
            expected_daily_customers=500,
        )
        placements = [f"Table {n}" for n in range(1, args.codes + 1)]

        started = time.perf_counter()
        qr_codes_generate(business=business, placements=placements)
        generated = time.perf_counter()
        html = sheet_html(qr_codes_active(business=business))
        rendered = time.perf_counter()
        pdf = sheet_pdf(qr_codes_active(business=business))
        printed = time.perf_counter()

        if html.count('class="card"') != args.codes or not pdf.startswith(b"%PDF"):
            raise SystemExit("the sheet did not come out whole")
        stages["generate"].append(generated - started)
        stages["sheet html"].append(rendered - generated)
        stages["sheet pdf"].append(printed - rendered)

    print(f"{args.codes} codes, {args.rounds} rounds (best / median seconds)")
    for name, times in stages.items():
        print(f"  {name:<11} {min(times):6.2f} / {statistics.median(times):6.2f}")
    html_total = min(stages["generate"]) + min(stages["sheet html"])
    pdf_total = min(stages["generate"]) + min(stages["sheet pdf"])
    print(f"  generate + HTML sheet: {html_total:.2f} s = {html_total / BUDGET_SECONDS:.0%} of 3 s")
    print(f"  generate + PDF sheet:  {pdf_total:.2f} s = {pdf_total / BUDGET_SECONDS:.0%} of 3 s")


if __name__ == "__main__":
    main()
