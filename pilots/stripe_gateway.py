"""Every call to Stripe, in one place: the rest of Pilot Ops never imports ``stripe``.

The client makes no retries of its own (``max_network_retries=0``): the payout
run decides when to try again and always reuses the payout's idempotency key,
so a retried transfer can never become a second transfer.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import stripe
from django.conf import settings

from core.json_input import JsonInputError, json_loads_bounded


class StripeNotConfigured(Exception):
    """No STRIPE_SECRET_KEY: payouts wait."""


class TransientStripeError(Exception):
    """No definitive answer: network trouble, timeouts, rate limits, Stripe's 5xx, key conflicts.

    For a request that creates something, the outcome is *unknown*: Stripe may
    have acted. It is settled by asking Stripe, never by a new request.
    """


class PermanentStripeError(Exception):
    """A definitive refusal (an invalid request, an unusable account): Stripe did not act."""


class SignatureError(Exception):
    """A webhook whose Stripe-Signature does not verify, or is too old."""


class MalformedEvent(Exception):
    """A correctly signed body that is not a well-formed Stripe event; the message says why."""


@dataclass(frozen=True)
class Transfer:
    id: str
    amount: int
    currency: str
    destination: str
    transfer_group: str
    reversed: bool


@dataclass(frozen=True)
class Account:
    id: str
    payouts_enabled: bool
    details_submitted: bool


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def _client() -> stripe.StripeClient:
    if not is_configured():
        raise StripeNotConfigured("STRIPE_SECRET_KEY is not set")
    base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses=base,
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
    )


def _translated(error: stripe.StripeError) -> Exception:
    """Sort Stripe's errors into the two kinds the payout run acts on."""
    status = getattr(error, "http_status", None)
    # An idempotency error means a request with this key exists at Stripe: not a refusal.
    if isinstance(
        error, stripe.APIConnectionError | stripe.RateLimitError | stripe.IdempotencyError
    ):
        return TransientStripeError(_describe(error))
    if status is None or status >= 500 or status in (409, 429):
        return TransientStripeError(_describe(error))
    return PermanentStripeError(_describe(error))


def _describe(error: stripe.StripeError) -> str:
    code = getattr(error, "code", None)
    status = getattr(error, "http_status", None)
    prefix = " ".join(str(part) for part in (status, code) if part)
    return (
        f"{prefix}: {error.user_message or error}" if prefix else str(error.user_message or error)
    )


def _transfer(obj) -> Transfer:
    return Transfer(
        id=obj.id,
        amount=obj.amount,
        currency=obj.currency,
        destination=obj.destination,
        transfer_group=getattr(obj, "transfer_group", None) or "",
        reversed=bool(getattr(obj, "reversed", False)),
    )


def transfer_create(
    *,
    amount: int,
    currency: str,
    destination: str,
    idempotency_key: str,
    transfer_group: str,
    metadata: dict[str, str],
) -> Transfer:
    try:
        created = _client().v1.transfers.create(
            params={
                "amount": amount,
                "currency": currency.lower(),
                "destination": destination,
                "transfer_group": transfer_group,
                "metadata": metadata,
            },
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as error:
        raise _translated(error) from error
    return _transfer(created)


def transfer_find(*, transfer_group: str) -> Transfer | None:
    """The transfer sent for a payout, if Stripe has one (for recovering lost answers)."""
    try:
        found = _client().v1.transfers.list(params={"transfer_group": transfer_group, "limit": 1})
    except stripe.StripeError as error:
        raise _translated(error) from error
    return _transfer(found.data[0]) if found.data else None


def account_create(*, email: str, idempotency_key: str) -> Account:
    """A Stripe Express connected account that can receive transfers in Sweden.

    The key makes a retry after a lost answer return the same account.
    """
    params = {
        "type": "express",
        "country": "SE",
        "capabilities": {"transfers": {"requested": True}},
    }
    if email:
        params["email"] = email
    try:
        account = _client().v1.accounts.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
    except stripe.StripeError as error:
        raise _translated(error) from error
    return Account(account.id, bool(account.payouts_enabled), bool(account.details_submitted))


def account_link_create(*, account_id: str, refresh_url: str, return_url: str) -> str:
    """The address of Stripe-hosted onboarding for ``account_id``."""
    try:
        link = _client().v1.account_links.create(
            params={
                "account": account_id,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "type": "account_onboarding",
            }
        )
    except stripe.StripeError as error:
        raise _translated(error) from error
    return link.url


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    created: datetime
    object: dict
    payload: dict


WEBHOOK_MAX_BYTES = 1024 * 1024
EVENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
EVENT_TYPE = re.compile(r"^[a-z0-9_.]{1,100}$")
LATEST_UNIX_TIME = 253402300799  # 9999-12-31T23:59:59Z


def webhook_event_verified(*, payload: bytes, signature: str) -> WebhookEvent:
    """Check the Stripe-Signature header, then that the body is a well-formed event.

    Raises SignatureError for a body Stripe did not sign (or signed too long
    ago) and MalformedEvent for a signed body that is not an event Pilot Ops
    can store: neither stores anything.
    """
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise SignatureError("STRIPE_WEBHOOK_SECRET is not set")
    if len(payload) > WEBHOOK_MAX_BYTES:
        raise MalformedEvent(f"the body is larger than {WEBHOOK_MAX_BYTES} bytes")
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedEvent("the body is not UTF-8") from None
    try:
        stripe.WebhookSignature.verify_header(
            payload,
            signature,
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        )
    except (stripe.SignatureVerificationError, ValueError) as error:
        raise SignatureError(str(error)) from error
    try:
        data = json_loads_bounded(payload, max_bytes=WEBHOOK_MAX_BYTES)
    except JsonInputError as error:
        raise MalformedEvent(str(error)) from None
    return _event_envelope(data)


def _event_envelope(data) -> WebhookEvent:
    """The event's envelope, with every field Pilot Ops stores checked for type and length."""
    if not isinstance(data, dict):
        raise MalformedEvent("the event is not a JSON object")
    event_id, event_type, created = data.get("id"), data.get("type"), data.get("created")
    if not isinstance(event_id, str) or not EVENT_ID.match(event_id):
        raise MalformedEvent("id must be 1 to 255 letters, digits, '_' or '-'")
    if not isinstance(event_type, str) or not EVENT_TYPE.match(event_type):
        raise MalformedEvent("type must be 1 to 100 characters like 'transfer.created'")
    if type(created) is not int or not 0 <= created <= LATEST_UNIX_TIME:
        raise MalformedEvent("created must be a Unix time in whole seconds")
    body = data.get("data")
    if not isinstance(body, dict) or not isinstance(body.get("object"), dict):
        raise MalformedEvent("data.object must be a JSON object")
    obj = body["object"]
    object_id = obj.get("id", "")
    if not isinstance(object_id, str) or len(object_id) > 255:
        raise MalformedEvent("data.object.id must be a string of at most 255 characters")
    return WebhookEvent(
        id=event_id,
        type=event_type,
        created=datetime.fromtimestamp(created, tz=UTC),
        object=obj,
        payload=data,
    )


def transfers_between(*, start: datetime, end: datetime) -> list[Transfer]:
    """Every transfer Stripe made in [start, end), page by page."""
    try:
        pages = _client().v1.transfers.list(
            params={
                "created": {"gte": int(start.timestamp()), "lt": int(end.timestamp())},
                "limit": 100,
            }
        )
        return [_transfer(item) for item in pages.auto_paging_iter()]
    except stripe.StripeError as error:
        raise _translated(error) from error
