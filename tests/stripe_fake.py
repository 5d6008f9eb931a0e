"""A small, stateful fake of the Stripe API parts Pilot Ops uses, served over HTTP.

It follows Stripe's documented behaviour where the tests depend on it:

* Connect: ``POST /v1/accounts`` (Express), ``GET /v1/accounts/{id}``,
  ``POST /v1/account_links``;
* transfers: ``POST /v1/transfers``, ``GET /v1/transfers`` (filter by
  ``transfer_group``), ``GET /v1/transfers/{id}``,
  ``POST /v1/transfers/{id}/reversals``; a transfer needs a destination
  whose ``transfers`` capability is active;
* ``Idempotency-Key``: the first result of a request that began executing is
  saved and replayed (``Idempotent-Replayed: true``); the same key with other
  parameters is a 400 ``idempotency_error``; the same key while the first
  request still runs is a 409 ``idempotency_key_in_use``. A fault injected
  before execution (``fail_next``) saves nothing, as with Stripe;
* errors in Stripe's JSON shape ``{"error": {"type", "code", "message", "param"}}``;
* webhook events signed like Stripe's: ``Stripe-Signature: t=<ts>,v1=<hmac>``;
* Billing (products, prices, customers, Checkout, subscriptions, invoices):
  tests/stripe_fake_billing.py.

Tests steer it through Python (``fail_next``, ``lose_answer_next``,
``delay_next``, ``enable_payouts``, ``signed_event``) since it runs in the
test process; the chaos suite puts a fault-injecting proxy in front of it.
"""

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

from tests.local_server import LocalServer
from tests.stripe_fake_billing import BillingFakeMixin
from tests.stripe_fake_errors import StripeFailure


def _nested(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding: ``metadata[payout]=1`` → ``{"metadata": {"payout": "1"}}``."""
    result: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return result


@dataclass
class Fault:
    path: str
    status: int = 500
    delay: float = 0.0
    count: int = 1
    after: bool = False  # the request is executed, then the answer is the error
    method: str = ""  # only requests with this method ("" for any)


@dataclass
class FakeState:
    accounts: dict[str, dict] = field(default_factory=dict)
    transfers: dict[str, dict] = field(default_factory=dict)
    idempotency: dict[str, tuple[str, int, dict]] = field(default_factory=dict)
    in_flight: set[str] = field(default_factory=set)
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, key
    # Billing (tests/stripe_fake_billing.py)
    clock: int = 0
    tax_rates: dict[str, dict] = field(default_factory=dict)
    products: dict[str, dict] = field(default_factory=dict)
    prices: dict[str, dict] = field(default_factory=dict)
    customers: dict[str, dict] = field(default_factory=dict)
    checkout_sessions: dict[str, dict] = field(default_factory=dict)
    subscriptions: dict[str, dict] = field(default_factory=dict)
    invoices: dict[str, dict] = field(default_factory=dict)
    billing_events: list[dict] = field(default_factory=list)


class StripeFake(BillingFakeMixin, LocalServer):
    """Start with ``StripeFake().start()``; ``url`` is its API base."""

    def __init__(self, *, webhook_secret: str = "whsec_test_pilotops"):
        self.webhook_secret = webhook_secret
        self.state = FakeState()
        self.lock = threading.Lock()
        self.ids = itertools.count(1)

    @property
    def url(self) -> str:
        return self.address

    def reset(self) -> None:
        with self.lock:
            self.state = FakeState()

    # --- steering ----------------------------------------------------------------
    def fail_next(self, path: str, *, status: int = 500, count: int = 1, method: str = "") -> None:
        """The next ``count`` requests to ``path`` fail with ``status`` before executing."""
        with self.lock:
            self.state.faults.append(Fault(path=path, status=status, count=count, method=method))

    def lose_answer_next(self, path: str, *, status: int = 500) -> None:
        """The next request to ``path`` executes (saved for its key), then answers ``status``."""
        with self.lock:
            self.state.faults.append(Fault(path=path, status=status, after=True))

    def delay_next(self, path: str, *, seconds: float) -> None:
        """The next request to ``path`` executes, then answers only after ``seconds``."""
        with self.lock:
            self.state.faults.append(Fault(path=path, status=0, delay=seconds))

    def enable_payouts(self, account_id: str) -> dict:
        with self.lock:
            account = self.state.accounts[account_id]
            account.update(
                payouts_enabled=True,
                charges_enabled=True,
                details_submitted=True,
                capabilities={"transfers": "active"},
            )
            return dict(account)

    def account_add(self, *, payouts_enabled: bool = True) -> str:
        with self.lock:
            account = self._account_new({})
        return self.enable_payouts(account["id"])["id"] if payouts_enabled else account["id"]

    def transfers(self) -> list[dict]:
        with self.lock:
            return [dict(t) for t in self.state.transfers.values()]

    def signed_event(
        self,
        event_type: str,
        obj: dict,
        *,
        event_id: str = "",
        created: int | None = None,
        signed_at: int | None = None,
        secret: str | None = None,
    ) -> tuple[bytes, str]:
        """A webhook body and its Stripe-Signature header, as Stripe would send them."""
        created = int(time.time()) if created is None else created
        event = {
            "id": event_id or f"evt_{next(self.ids):08d}",
            "object": "event",
            "api_version": "2025-01-27.acacia",
            "created": created,
            "livemode": False,
            "pending_webhooks": 1,
            "type": event_type,
            "data": {"object": obj},
        }
        payload = json.dumps(event).encode()
        return payload, self.signature(payload, signed_at=signed_at, secret=secret)

    def signature(
        self, payload: bytes, *, signed_at: int | None = None, secret: str | None = None
    ) -> str:
        """The Stripe-Signature header Stripe would send with ``payload``."""
        timestamp = int(time.time()) if signed_at is None else signed_at
        digest = hmac.new(
            (secret or self.webhook_secret).encode(),
            f"{timestamp}.".encode() + payload,
            hashlib.sha256,
        ).hexdigest()
        return f"t={timestamp},v1={digest}"

    # --- serving -----------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode() if length else ""
        params = _nested(parse_qsl(url.query if method == "GET" else raw, keep_blank_values=True))
        key = handler.headers.get("Idempotency-Key", "") if method == "POST" else ""
        status, body, headers, delay = 200, {}, {}, 0.0
        try:
            if not handler.headers.get("Authorization", "").startswith("Bearer sk_"):
                raise StripeFailure(401, "invalid_request_error", "You did not provide an API key.")
            fault = self._fault_for(method, url.path)
            if fault and fault.status and not fault.after:
                raise StripeFailure(fault.status, "api_error", "An unknown error occurred.")
            delay = fault.delay if fault else 0.0
            status, body, replayed = self._idempotent(method, url.path, params, key)
            if replayed:
                headers["Idempotent-Replayed"] = "true"
            if fault and fault.after:
                raise StripeFailure(fault.status, "api_error", "An unknown error occurred.")
        except StripeFailure as failure:
            status, body = failure.status, failure.body
        with self.lock:
            self.state.requests.append((method, url.path, key))
        if delay:
            time.sleep(delay)
        payload = json.dumps(body).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.send_header("Request-Id", f"req_{next(self.ids):08d}")
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting: the work is done all the same

    def _fault_for(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.state.faults:
                if path.startswith(fault.path) and fault.method in ("", method) and fault.count > 0:
                    fault.count -= 1
                    if fault.count == 0:
                        self.state.faults.remove(fault)
                    return fault
        return None

    def _idempotent(self, method: str, path: str, params: dict, key: str):
        if not key:
            status, body = self._route(method, path, params)
            return status, body, False
        fingerprint = json.dumps([method, path, params], sort_keys=True)
        with self.lock:
            saved = self.state.idempotency.get(key)
            if saved is None and key in self.state.in_flight:
                raise StripeFailure(
                    409,
                    "idempotency_error",
                    "There is currently another in-progress request using this Idempotent Key.",
                    code="idempotency_key_in_use",
                )
            if saved is None:
                self.state.in_flight.add(key)
        if saved is not None:
            if saved[0] != fingerprint:
                raise StripeFailure(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with.",
                )
            return saved[1], saved[2], True
        try:
            try:
                status, body = self._route(method, path, params)
            except StripeFailure as failure:
                status, body = failure.status, failure.body
            with self.lock:
                self.state.idempotency[key] = (fingerprint, status, body)
            return status, body, False
        finally:
            with self.lock:
                self.state.in_flight.discard(key)

    def _route(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        parts = [part for part in path.split("/") if part]
        with self.lock:
            if parts == ["v1", "accounts"] and method == "POST":
                return 200, dict(self._account_new(params))
            if parts[:2] == ["v1", "accounts"] and len(parts) == 3 and method == "GET":
                return 200, dict(self._account(parts[2]))
            if parts == ["v1", "account_links"] and method == "POST":
                account = self._account(params.get("account", ""), param="account")
                now = int(time.time())
                return 200, {
                    "object": "account_link",
                    "created": now,
                    "expires_at": now + 300,
                    "url": f"{self.url}/onboarding/{account['id']}",
                }
            if parts == ["v1", "transfers"] and method == "POST":
                return 200, dict(self._transfer_new(params))
            if parts == ["v1", "transfers"] and method == "GET":
                return 200, self._transfer_list(params)
            if parts[:2] == ["v1", "transfers"] and len(parts) == 3 and method == "GET":
                return 200, dict(self._transfer(parts[2]))
            if parts[:2] == ["v1", "transfers"] and parts[3:] == ["reversals"]:
                transfer = self._transfer(parts[2])
                transfer.update(reversed=True, amount_reversed=transfer["amount"])
                return 200, {
                    "object": "transfer_reversal",
                    "transfer": transfer["id"],
                    "amount": transfer["amount"],
                    "id": f"trr_{next(self.ids):08d}",
                }
            return self._billing_route(method, parts, params)

    def _transfer_list(self, params: dict) -> dict:
        """Newest first; filters transfer_group and created[gte|lt]; pages with starting_after."""
        created = params.get("created", {})
        found = [
            dict(t)
            for t in reversed(list(self.state.transfers.values()))
            if (not params.get("transfer_group") or t["transfer_group"] == params["transfer_group"])
            and t["created"] >= int(created.get("gte", 0))
            and t["created"] < int(created.get("lt", 2**62))
        ]
        if params.get("starting_after"):
            ids = [t["id"] for t in found]
            if params["starting_after"] not in ids:
                raise StripeFailure(
                    400,
                    "invalid_request_error",
                    f"No such transfer: '{params['starting_after']}'",
                    param="starting_after",
                )
            found = found[ids.index(params["starting_after"]) + 1 :]
        limit = int(params.get("limit", 10))
        if not 1 <= limit <= 100:
            raise StripeFailure(
                400, "invalid_request_error", "limit must be between 1 and 100", param="limit"
            )
        return {
            "object": "list",
            "data": found[:limit],
            "has_more": len(found) > limit,
            "url": "/v1/transfers",
        }

    def _account_new(self, params: dict) -> dict:
        account = {
            "id": f"acct_fake{next(self.ids):08d}",
            "object": "account",
            "type": params.get("type", "express"),
            "country": params.get("country", "SE"),
            "email": params.get("email"),
            "payouts_enabled": False,
            "charges_enabled": False,
            "details_submitted": False,
            "capabilities": {"transfers": "inactive"},
            "metadata": {},
        }
        self.state.accounts[account["id"]] = account
        return account

    def _account(self, account_id: str, param: str = "") -> dict:
        if account_id not in self.state.accounts:
            raise StripeFailure(
                404,
                "invalid_request_error",
                f"No such account: '{account_id}'",
                code="resource_missing",
                param=param,
            )
        return self.state.accounts[account_id]

    def _transfer(self, transfer_id: str) -> dict:
        if transfer_id not in self.state.transfers:
            raise StripeFailure(
                404,
                "invalid_request_error",
                f"No such transfer: '{transfer_id}'",
                code="resource_missing",
                param="id",
            )
        return self.state.transfers[transfer_id]

    def _transfer_new(self, params: dict) -> dict:
        try:
            amount = int(params.get("amount", ""))
        except ValueError:
            raise StripeFailure(
                400,
                "invalid_request_error",
                "Invalid integer",
                code="parameter_invalid_integer",
                param="amount",
            ) from None
        if amount <= 0:
            raise StripeFailure(
                400,
                "invalid_request_error",
                "Amount must be at least 1 öre",
                code="amount_too_small",
                param="amount",
            )
        destination = self._account(params.get("destination", ""), param="destination")
        if destination["capabilities"].get("transfers") != "active":
            raise StripeFailure(
                400,
                "invalid_request_error",
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                code="insufficient_capabilities_for_transfer",
                param="destination",
            )
        transfer = {
            "id": f"tr_fake{next(self.ids):08d}",
            "object": "transfer",
            "amount": amount,
            "amount_reversed": 0,
            "created": int(time.time()),
            "currency": params.get("currency", "sek"),
            "destination": destination["id"],
            "livemode": False,
            "metadata": params.get("metadata", {}),
            "reversed": False,
            "transfer_group": params.get("transfer_group"),
        }
        self.state.transfers[transfer["id"]] = transfer
        return transfer

    def transfer_add(self, *, amount: int, destination: str, transfer_group: str) -> dict:
        """A transfer made at Stripe by someone else than Pilot Ops' payout run."""
        with self.lock:
            return dict(
                self._transfer_new(
                    {
                        "amount": str(amount),
                        "destination": destination,
                        "transfer_group": transfer_group,
                        "currency": "sek",
                    }
                )
            )


@contextmanager
def running_fake() -> Iterator[StripeFake]:
    fake = StripeFake().start()
    try:
        yield fake
    finally:
        fake.stop()
