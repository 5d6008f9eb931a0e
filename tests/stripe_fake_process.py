"""The Stripe fake (tests/stripe_fake.py) as a process of its own, for the production suite.

    python -m tests.stripe_fake_process [--webhook-secret whsec_…]

It prints ``listening on http://127.0.0.1:<port>`` once it serves. Tests in
another process steer it over HTTP, under paths Stripe does not have:

* ``GET /onboarding/<account>``: the customer finishes Express onboarding
  (the account can receive transfers), as the account link's page would;
* ``POST /_fake/delay?path=/v1/transfers&seconds=8``: the next request to
  ``path`` executes, then answers only after ``seconds``;
* ``GET /_fake/transfers``: every transfer made, as JSON.

Everything else is the fake's Stripe API, unchanged.
"""

import argparse
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from tests.local_server import json_reply
from tests.serving import until_stopped
from tests.stripe_fake import StripeFake


class SteeredStripeFake(StripeFake):
    def _answer(self, handler: BaseHTTPRequestHandler, status: int, body: dict) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        json_reply(handler, status, body)

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(handler.path)
        parts = [part for part in url.path.split("/") if part]
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        if parts[:1] == ["onboarding"] and len(parts) == 2 and method == "GET":
            with self.lock:
                known = parts[1] in self.state.accounts
            if not known:
                return self._answer(handler, 404, {"error": "no such account"})
            return self._answer(handler, 200, self.enable_payouts(parts[1]))
        if parts == ["_fake", "delay"] and method == "POST":
            self.delay_next(query["path"], seconds=float(query["seconds"]))
            return self._answer(handler, 200, {"delayed": query["path"]})
        if parts == ["_fake", "transfers"] and method == "GET":
            return self._answer(handler, 200, {"data": self.transfers()})
        return super()._serve(handler, method)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhook-secret", default="whsec_test_pilotops")
    args = parser.parse_args()
    fake = SteeredStripeFake(webhook_secret=args.webhook_secret).start()
    print(f"listening on {fake.url}", flush=True)
    until_stopped()
    fake.stop()


if __name__ == "__main__":
    main()
