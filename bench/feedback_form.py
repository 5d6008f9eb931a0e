"""Benchmark: requests/s of the feedback form under gunicorn, against bare views.

Starts gunicorn (2 sync workers) on 127.0.0.1 with a scratch SQLite database,
then for a few seconds each drives, with 4 client threads:

  form GET     the project's /q/<token>/          vs  bare GET (one render)
  form POST    a valid submission (CSRF, scoring)  vs  bare POST (one insert)

and prints requests/s and the ratio project ÷ bare, next to the queries
each request makes. Compare ratios, not absolute figures: this machine is
shared and noisy. Targets: form GET ÷ bare GET ≥ 0.9, form POST ÷ bare POST
≥ 0.8, on PostgreSQL with a Redis cache (the production shape).

    .venv/bin/python bench/feedback_form.py [--seconds 5] [--threads 4]
    .venv/bin/python bench/feedback_form.py --database-url postgres://…/scratch \
        --cache-url redis://127.0.0.1:6379/7
"""

import argparse
import http.client
import itertools
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from scratch import scratch_dir  # bench/scratch.py: removed when the run ends

PROJECT = Path(__file__).resolve().parent.parent
PORT = 8791
SETUP = """
from django.core.management import call_command
call_command("migrate", verbosity=0)
from pilots import services
from pilots.models import Business, Pilot
import datetime
from django.utils import timezone
today = timezone.localdate()
business = Business.objects.create(name="Bench café", slug="bench", city="Stockholm",
                                   expected_daily_customers=1000)
pilot = Pilot.objects.create(name="Bench", slug="bench", starts_on=today,
                             ends_on=today + datetime.timedelta(days=1))
services.pilot_activate(pilot=pilot)
services.enrollment_create(pilot=pilot, business=business, trial_limit=10_000_000)
(code,) = services.qr_codes_generate(business=business, placements=["Table 1"])
print(code.token)
"""
QUERIES = """
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

token = "%s"
client = Client(REMOTE_ADDR="10.9.9.1")
client.get(f"/q/{token}/")
counts = {}
for name, make in (
    ("form GET", lambda: Client(REMOTE_ADDR="10.9.9.2").get(f"/q/{token}/")),
    ("bare GET", lambda: client.get(f"/bare/{token}/")),
    ("form POST", lambda: Client(REMOTE_ADDR="10.9.9.3").post(
        f"/q/{token}/", {"rating": 5, "categories": "service", "comment": "%s"})),
    ("bare POST", lambda: client.post(f"/bare/{token}/", {"rating": 5, "comment": "x"})),
):
    with CaptureQueriesContext(connection) as captured:
        make()
    counts[name] = len(captured)
print(" ".join(f"{k}={v}" for k, v in counts.items()))
"""
COMMENT = "The cardamom bun was fresh and the barista friendly. Short queue at the counter."


def environment(var_dir: str, database_url: str, cache_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL")}
    if database_url:
        env["DATABASE_URL"] = database_url
    if cache_url:
        env["CACHE_URL"] = cache_url
    env.update(
        {
            "PILOTOPS_VAR_DIR": var_dir,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            # Every request looks like a new customer behind one proxy.
            "TRUSTED_PROXY_NETWORKS": "127.0.0.1/32",
            "FEEDBACK_RATE_PER_DEVICE": "1000000/h",
            "FEEDBACK_RATE_PER_NETWORK": "1000000/h",
            "FEEDBACK_RATE_PER_CODE": "1000000/h",
        }
    )
    return env


def wait_for_port(deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


clients = itertools.count(1)


def request(method: str, path: str, body: str = "", headers: dict | None = None):
    n = next(clients)
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    all_headers = {"X-Forwarded-For": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"}
    all_headers.update(headers or {})
    connection.request(method, path, body=body, headers=all_headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response, data


def form_post(token: str):
    """GET the form for a CSRF cookie and token, then POST a good submission."""
    response, page = request("GET", f"/q/{token}/")
    cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "").group(1)
    csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    body = urlencode(
        {"csrfmiddlewaretoken": csrf, "rating": 5, "categories": "service", "comment": COMMENT}
    )
    return request(
        "POST",
        f"/q/{token}/",
        body,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookie}",
            "Referer": f"http://127.0.0.1:{PORT}/q/{token}/",
        },
    )


def measure(action, *, seconds: float, threads: int, expect: int) -> float:
    done, failures = [0] * threads, []
    stop = time.monotonic() + seconds

    def worker(index: int) -> None:
        while time.monotonic() < stop:
            response, _ = action()
            if response.status != expect:
                failures.append(response.status)
                return
            done[index] += 1

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if failures:
        raise SystemExit(f"unexpected status {failures[0]}")
    return sum(done) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database-url", default="", help="a new, empty scratch database")
    parser.add_argument("--cache-url", default="", help="e.g. redis://127.0.0.1:6379/7")
    args = parser.parse_args()

    var_dir = scratch_dir()
    env = environment(var_dir, args.database_url, args.cache_url)
    setup = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", SETUP],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = setup.stdout.strip().splitlines()[-1]
    queries = (
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "--no-imports",
                "-c",
                QUERIES % (token, COMMENT),
            ],
            cwd=PROJECT,
            env={**env, "DJANGO_SETTINGS_MODULE": "bench.settings_queries"},
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bench.wsgi:application",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
        ],
        cwd=PROJECT,
        env=env,
    )
    try:
        wait_for_port(time.monotonic() + 30)
        runs = {
            "form GET": measure(
                lambda: request("GET", f"/q/{token}/"),
                seconds=args.seconds,
                threads=args.threads,
                expect=200,
            ),
            "bare GET": measure(
                lambda: request("GET", f"/bare/{token}/"),
                seconds=args.seconds,
                threads=args.threads,
                expect=200,
            ),
            "form POST": measure(
                lambda: form_post(token), seconds=args.seconds, threads=args.threads, expect=302
            ),
            "bare POST": measure(
                lambda: request(
                    "POST",
                    f"/bare/{token}/",
                    "rating=5&comment=x",
                    {"Content-Type": "application/x-www-form-urlencoded"},
                ),
                seconds=args.seconds,
                threads=args.threads,
                expect=302,
            ),
        }
    finally:
        server.terminate()
        server.wait(timeout=20)
    where = "PostgreSQL" if args.database_url else "SQLite"
    cache = "Redis" if args.cache_url else "local memory"
    print(f"gunicorn, 2 workers, {args.threads} client threads, {args.seconds:g} s each")
    print(f"{where}, {cache} cache; queries per request: {queries}")
    for name, rate in runs.items():
        print(f"  {name:<10} {rate:8.1f} requests/s")
    print(f"  form GET ÷ bare GET:   {runs['form GET'] / runs['bare GET']:.2f}")
    print(
        f"  form POST ÷ bare POST: {runs['form POST'] / runs['bare POST']:.2f}"
        "  (each form POST also GETs the form for its CSRF token)"
    )


if __name__ == "__main__":
    main()
