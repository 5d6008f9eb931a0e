"""A small fake of an SMS gateway in 46elks' shape, served over HTTP.

* ``POST /a1/sms`` (form fields ``from``, ``to``, ``message``; basic auth)
  sends a text and answers ``{"id", "to", "from", "message", "created", "status"}``;
* ``GET /a1/sms?to=…&start=…`` lists texts sent to ``to`` since ``start``
  (``YYYY-MM-DDTHH:MM:SS``, UTC), newest first, as ``{"data": [...]}``.

Tests steer it through Python: ``fail_next`` (a status before anything is
sent), ``lose_answer_next`` (the text is sent, then the answer is a 500),
``refuse_next`` (a 4xx).
"""

import base64
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

from tests.local_server import LocalServer, json_reply

USERNAME, PASSWORD = "u_pilotops_test", "sms-test-secret"


@dataclass
class SmsState:
    sent: list[dict] = field(default_factory=list)
    faults: list[tuple[str, int]] = field(default_factory=list)  # (kind, status)


class SmsFake(LocalServer):
    def __init__(self):
        self.state = SmsState()
        self.lock = threading.Lock()
        self.ids = itertools.count(1)

    @property
    def url(self) -> str:
        return f"{self.address}/a1"

    def reset(self) -> None:
        with self.lock:
            self.state = SmsState()

    def sent(self) -> list[dict]:
        with self.lock:
            return [dict(text) for text in self.state.sent]

    def fail_next(self, status: int = 500) -> None:
        with self.lock:
            self.state.faults.append(("before", status))

    def lose_answer_next(self, status: int = 500) -> None:
        with self.lock:
            self.state.faults.append(("after", status))

    def _reply(self, handler, status: int, body: dict) -> None:
        json_reply(handler, status, body)

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(handler.path)
        expected = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        if handler.headers.get("Authorization") != expected:
            return self._reply(handler, 401, {"error": "bad credentials"})
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode() if length else ""
        if method == "GET" and url.path == "/a1/sms":
            query = dict(parse_qsl(url.query))
            start = query.get("start", "1970-01-01T00:00:00")
            with self.lock:
                found = [
                    dict(text)
                    for text in reversed(self.state.sent)
                    if text["to"] == query.get("to") and text["created"] >= start
                ]
            return self._reply(handler, 200, {"data": found})
        if method != "POST" or url.path != "/a1/sms":
            return self._reply(handler, 404, {"error": "not found"})
        with self.lock:
            fault = self.state.faults.pop(0) if self.state.faults else None
        if fault and fault[0] == "before":
            return self._reply(handler, fault[1], {"error": "gateway trouble"})
        fields = dict(parse_qsl(raw, keep_blank_values=True))
        if not fields.get("to", "").startswith("+") or not fields.get("message"):
            return self._reply(handler, 400, {"error": "to and message are required"})
        text = {
            "id": f"s{next(self.ids):08d}",
            "from": fields.get("from", ""),
            "to": fields["to"],
            "message": fields["message"],
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "status": "created",
        }
        with self.lock:
            self.state.sent.append(text)
        if fault and fault[0] == "after":
            return self._reply(handler, fault[1], {"error": "gateway trouble"})
        return self._reply(handler, 200, text)


@contextmanager
def running_sms_fake() -> Iterator[SmsFake]:
    fake = SmsFake().start()
    try:
        yield fake
    finally:
        fake.stop()
