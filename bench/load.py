"""Load test: 16 customers submitting feedback for 60 s on the production topology.

    DATABASE_URL=postgres://… .venv/bin/python bench/load.py [--clients 16] [--seconds 60]

Starts deploy/run-local (gunicorn with deploy/gunicorn.conf.py and 4 workers,
2 Celery workers, beat; production mode) on a scratch PostgreSQL database next
to DATABASE_URL's and a Redis server of its own, serving the project's URLs
plus the bare yardstick of bench/bare.py. Then, in the same run and under the
same gunicorn:

  form    each client loads the form (CSRF cookie and token) and submits
  bare    each client POSTs to a view that does one INSERT and redirects

and prints requests/s, p50/p95/p99 latency of the submissions, the ratio of
form submissions to bare inserts per second, and checks that no response was
≥ 500 and that the rows stored equal the submissions answered with success.
Every request comes from its own address behind one trusted proxy, so rate
limits and duplicate checks see distinct customers, as in a café at rush hour.
"""

import argparse
import http.client
import itertools
import os
import re
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()  # the topology helpers share the test suite's fixtures module

from tests.production.topology import production_topology

SETUP = """
import datetime
from django.utils import timezone
from pilots import services
from pilots.models import Business, Pilot
today = timezone.localdate()
business = Business.objects.create(name="Load café", slug="load-cafe", city="Stockholm",
                                   expected_daily_customers=100_000)
pilot = Pilot.objects.create(name="Load", slug="load", starts_on=today,
                             ends_on=today + datetime.timedelta(days=1))
services.pilot_activate(pilot=pilot)
services.enrollment_create(pilot=pilot, business=business, trial_limit=10_000_000)
(code,) = services.qr_codes_generate(business=business, placements=["Table 1"])
result = code.token
"""
ROWS = """
from pilots.models import Feedback
result = {
    "form": Feedback.objects.filter(comment__startswith="Load test").count(),
    "bare": Feedback.objects.filter(comment="bare").count(),
}
"""
CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
COMMENTS = [
    "Load test: the cardamom bun was fresh and warm, the barista friendly and quick.",
    "Load test: a long queue at the counter at noon, but the coffee was worth it.",
    "Load test: our table by the window was clean; the oat latte was a bit too hot.",
]
addresses = itertools.count(1)


class Client:
    """One customer's HTTP/1.1 connection; a new address for every submission."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port

    def request(self, method: str, path: str, body: str = "", headers: dict | None = None):
        n = next(addresses)
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(
                method,
                path,
                body=body,
                headers={"X-Forwarded-For": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"}
                | (headers or {}),
            )
            response = connection.getresponse()
            return response, response.read()
        finally:
            connection.close()


def submit_form(client: Client, token: str, n: int):
    """GET the form, then POST a submission: the POST's answer counts."""
    response, page = client.request("GET", f"/q/{token}/")
    if response.status != 200:
        return response
    cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "").group(1)
    body = urlencode(
        {
            "csrfmiddlewaretoken": CSRF_FIELD.search(page).group(1).decode(),
            "rating": 4,
            "categories": "service",
            "comment": f"{COMMENTS[n % len(COMMENTS)]} Visit {n}.",
            "website": "",
        }
    )
    url = f"http://{client.host}:{client.port}/q/{token}/"
    response, _ = client.request(
        "POST",
        f"/q/{token}/",
        body,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookie}",
            "Referer": url,
        },
    )
    return response


def submit_bare(client: Client, token: str, n: int):
    response, _ = client.request(
        "POST",
        f"/bare/{token}/",
        "rating=4&comment=bare",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    return response


def drive(action, *, base_url: str, token: str, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    numbers = itertools.count()

    def customer() -> None:
        client = Client(base_url)
        while time.monotonic() < stop:
            started = time.perf_counter()
            response = action(client, token, next(numbers))
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[response.status] = statuses.get(response.status, 0) + 1

    began = time.monotonic()
    threads = [threading.Thread(target=customer) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.monotonic() - began
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "rate": len(latencies) / duration,
        "p50": cuts[49] * 1000,
        "p95": cuts[94] * 1000,
        "p99": cuts[98] * 1000,
        "statuses": statuses,
        "succeeded": statuses.get(302, 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()

    env = {
        "TRUSTED_PROXY_COUNT": "1",
        "FEEDBACK_RATE_PER_DEVICE": "1000000/h",
        "FEEDBACK_RATE_PER_NETWORK": "1000000/h",
        "FEEDBACK_RATE_PER_CODE": "1000000/h",
        "LOG_LEVEL": "WARNING",
    }
    with production_topology(app="bench.wsgi:application", extra_env=env) as topology:
        token = topology.query(SETUP)
        runs = {
            name: drive(
                action,
                base_url=topology.url,
                token=token,
                clients=args.clients,
                seconds=args.seconds,
            )
            for name, action in (("form", submit_form), ("bare", submit_bare))
        }
        rows = topology.query(ROWS)

    print(
        f"production topology (gunicorn 4 workers, PostgreSQL, Redis), "
        f"{args.clients} clients, {args.seconds:g} s each"
    )
    for name, run in runs.items():
        print(
            f"  {name:<5} {run['rate']:7.1f} submissions/s   p50 {run['p50']:6.1f} ms   "
            f"p95 {run['p95']:6.1f} ms   p99 {run['p99']:6.1f} ms   answers {run['statuses']}"
        )
    print(
        f"  form ÷ bare: {runs['form']['rate'] / runs['bare']['rate']:.2f}"
        "  (each form submission is a GET for the CSRF token, then the POST)"
    )
    failures = {
        name: {code: n for code, n in run["statuses"].items() if code >= 500}
        for name, run in runs.items()
    }
    assert not any(failures.values()), f"responses ≥ 500: {failures}"
    for name, run in runs.items():
        assert rows[name] == run["succeeded"], f"{name}: {rows[name]} rows stored, {run}"
    print(f"  0 responses ≥ 500; rows stored = successful submissions ({rows})")


if __name__ == "__main__":
    main()
