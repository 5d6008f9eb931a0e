"""A fault-injecting HTTP proxy, put in front of a local fake (Stripe, an SMS gateway).

Each request through it meets one fate, dealt from a deck shuffled by a seeded
random generator, so each fault's share is exact to within one deck:

* ``pass`` — forwarded, and the answer relayed;
* ``500 before`` — answered with a 500 in Stripe's error shape, never forwarded;
* ``500 after`` — forwarded (the fake acts on it), then answered with a 500;
* ``timeout after`` — forwarded, then no answer until the client gave up;
* ``reset`` — forwarded, then the connection is reset (RST), no answer.

Tests can also *hold* the next matching request, before or after forwarding
it, to kill a process while its request is in flight, then let it go
(the held connection is dropped without an answer).
"""

import http.client
import json
import math
import random
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tests.local_server import LocalServer

PASS = "pass"
ERROR_BEFORE = "500 before"
ERROR_AFTER = "500 after"
TIMEOUT_AFTER = "timeout after"
RESET = "reset"
FAULTS = (ERROR_BEFORE, ERROR_AFTER, TIMEOUT_AFTER, RESET)
HOP_HEADERS = ("content-length", "connection", "transfer-encoding", "date", "server")


@dataclass
class Hold:
    method: str
    path: str
    stage: str  # "before" (never forwarded) or "after" (forwarded, answer withheld)
    taken: bool = False
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)


class FaultProxy(LocalServer):
    """``FaultProxy(upstream_url, seed=…).start()``; ``url`` is what clients call."""

    def __init__(self, upstream: str, *, seed: int, hang_seconds: float = 2.0):
        target = urlsplit(upstream)
        self.upstream_host, self.upstream_port = target.hostname, target.port
        self.prefix = target.path.rstrip("/")
        self.random = random.Random(seed)
        self.hang_seconds = hang_seconds
        self.lock = threading.Lock()
        self.deck: list[str] = []
        self.dealt: list[str] = []
        self.only: tuple[str, ...] = ()
        self.counts: Counter = Counter()
        self.holds: list[Hold] = []

    protocol_version = "HTTP/1.1"

    def stop(self) -> None:
        self.release_all()
        super().stop()

    @property
    def url(self) -> str:
        return f"{self.address}{self.prefix}"

    # --- steering ----------------------------------------------------------------
    def faults(self, share: float, *, only: tuple[str, ...] = ()) -> None:
        """From now on, each fault kind hits ``share`` of the requests (to paths in ``only``)."""
        per_kind = round(share * 100)
        passes = max(0, 100 - per_kind * len(FAULTS))
        smallest = math.gcd(per_kind, passes) or per_kind
        with self.lock:
            self.deck = [kind for kind in FAULTS for _ in range(per_kind // smallest)]
            self.deck += [PASS] * (passes // smallest)
            self.dealt, self.only = [], only

    def calm(self) -> None:
        """No more faults: every request passes."""
        with self.lock:
            self.deck, self.dealt = [], []

    def hold_next(self, method: str, path: str, *, stage: str) -> Hold:
        hold = Hold(method=method, path=path, stage=stage)
        with self.lock:
            self.holds.append(hold)
        return hold

    def release_all(self) -> None:
        with self.lock:
            holds, self.holds = list(self.holds), []
        for hold in holds:
            hold.released.set()

    # --- serving -----------------------------------------------------------------
    def _fate(self, method: str, path: str) -> tuple[str, Hold | None]:
        with self.lock:
            for hold in self.holds:
                if not hold.taken and hold.method == method and path.startswith(hold.path):
                    hold.taken = True
                    return "hold", hold
            if not self.deck or (
                self.only and not any(path.startswith(prefix) for prefix in self.only)
            ):
                fate = PASS
            else:
                if not self.dealt:
                    self.dealt = list(self.deck)
                    self.random.shuffle(self.dealt)
                fate = self.dealt.pop()
            self.counts[fate] += 1
            return fate, None

    def _forward(self, method: str, handler, body: bytes) -> tuple[int, list, bytes]:
        connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=30)
        headers = {
            name: value
            for name, value in handler.headers.items()
            if name.lower() not in ("host", "connection", "proxy-connection")
        }
        connection.request(method, handler.path, body=body or None, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        connection.close()
        return response.status, response.getheaders(), payload

    def _relay(self, handler, status: int, headers: list, payload: bytes) -> None:
        handler.send_response(status)
        for name, value in headers:
            if name.lower() not in (
                "content-length",
                "connection",
                "transfer-encoding",
                "date",
                "server",
            ):
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _error(self, handler) -> None:
        body = json.dumps(
            {"error": {"type": "api_error", "message": "An unknown error occurred (injected)."}}
        ).encode()
        self._relay(handler, 500, [("Content-Type", "application/json")], body)

    def _drop(self, handler, *, reset: bool) -> None:
        handler.close_connection = True
        if reset:
            handler.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        handler.connection.close()

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        fate, hold = self._fate(method, urlsplit(handler.path).path)
        if hold is not None:
            if hold.stage == "after":
                self._forward(method, handler, body)
            hold.reached.set()
            hold.released.wait(timeout=60)
            return self._drop(handler, reset=True)
        if fate == ERROR_BEFORE:
            return self._error(handler)
        status, headers, payload = self._forward(method, handler, body)
        if fate == PASS:
            return self._relay(handler, status, headers, payload)
        if fate == ERROR_AFTER:
            return self._error(handler)
        if fate == TIMEOUT_AFTER:
            threading.Event().wait(self.hang_seconds)
            return self._drop(handler, reset=False)
        return self._drop(handler, reset=True)


@contextmanager
def fault_proxy(upstream: str, *, seed: int, hang_seconds: float = 2.0) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream, seed=seed, hang_seconds=hang_seconds).start()
    try:
        yield proxy
    finally:
        proxy.stop()
