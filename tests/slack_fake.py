"""A small fake of Slack's incoming webhooks, served over HTTP.

``POST /services/<team>/<bot>/<secret>`` with a JSON body ``{"text": …}``
posts a message and answers ``ok`` (200); an unknown webhook path answers
404 ``no_service``, a body without text 400 ``invalid_payload`` — what Slack
answers. Tests read ``posted()`` and steer faults: ``fail_next`` (a status
before anything is posted), ``lose_answer_next`` (posted, then a 500).
"""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tests.local_server import LocalServer

WEBHOOK_PATH = "/services/T0PILOTOPS/B0ONCALL/fake-webhook-secret"


class SlackFake(LocalServer):
    def __init__(self):
        self.lock = threading.Lock()
        self.posts: list[dict] = []
        self.faults: list[tuple[str, int]] = []  # (before or after, status)

    @property
    def url(self) -> str:
        return self.address + WEBHOOK_PATH

    def reset(self) -> None:
        with self.lock:
            self.posts, self.faults = [], []

    def posted(self) -> list[dict]:
        with self.lock:
            return [dict(post) for post in self.posts]

    def fail_next(self, status: int = 500) -> None:
        with self.lock:
            self.faults.append(("before", status))

    def lose_answer_next(self, status: int = 500) -> None:
        with self.lock:
            self.faults.append(("after", status))

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, text: str) -> None:
        payload = text.encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode() if length else ""
        if method != "POST" or urlsplit(handler.path).path != WEBHOOK_PATH:
            return self._reply(handler, 404, "no_service")
        with self.lock:
            fault = self.faults.pop(0) if self.faults else None
        if fault and fault[0] == "before":
            return self._reply(handler, fault[1], "rollup_error")
        try:
            payload = json.loads(raw)
        except ValueError:
            return self._reply(handler, 400, "invalid_payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
            return self._reply(handler, 400, "invalid_payload")
        with self.lock:
            self.posts.append(payload)
        if fault:
            return self._reply(handler, fault[1], "rollup_error")
        return self._reply(handler, 200, "ok")


@contextmanager
def running_slack_fake() -> Iterator[SlackFake]:
    fake = SlackFake().start()
    try:
        yield fake
    finally:
        fake.stop()
