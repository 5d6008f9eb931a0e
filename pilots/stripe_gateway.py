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


# ------------------------------------------------------------------------------
# Billing: products, prices, customers, checkout, subscriptions, invoices
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class BillingSubscription:
    id: str
    status: str
    customer: str
    price: str
    collection_method: str
    cancel_at_period_end: bool
    current_period_end: datetime | None
    metadata: dict


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str
    customer: str


@dataclass(frozen=True)
class ProrationPreview:
    amount_due: int
    currency: str
    proration: int  # what the change itself costs (negative: a credit)


def _call(method, *args, idempotency_key: str = "", **params):
    options = {"idempotency_key": idempotency_key} if idempotency_key else None
    try:
        if options:
            return method(*args, params=params, options=options)
        return method(*args, params=params)
    except stripe.StripeError as error:
        raise _translated(error) from error


def unix_time(value) -> datetime | None:
    """A Unix time in whole seconds from Stripe, or None for anything else."""
    if type(value) is not int or not 0 <= value <= LATEST_UNIX_TIME:
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def short_text(value, limit: int = 255) -> str:
    """A string field of a Stripe object as stored: "" when absent, of another type or too long."""
    return value if isinstance(value, str) and len(value) <= limit else ""


def billing_subscription(obj) -> BillingSubscription:
    """A subscription as Pilot Ops reads it, from the API's answer or a webhook's dict.

    Every field is checked for type and length: a webhook's body is input.
    """
    data = obj if isinstance(obj, dict) else obj.to_dict()
    items = data.get("items")
    listed = items.get("data") if isinstance(items, dict) else None
    first = listed[0] if isinstance(listed, list) and listed and isinstance(listed[0], dict) else {}
    price = first.get("price")
    price_id = short_text(price.get("id") if isinstance(price, dict) else price)
    metadata = data.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    return BillingSubscription(
        id=short_text(data.get("id")),
        status=short_text(data.get("status"), 30),
        customer=short_text(data.get("customer")),
        price=price_id,
        collection_method=short_text(data.get("collection_method"), 30),
        cancel_at_period_end=data.get("cancel_at_period_end") is True,
        current_period_end=unix_time(data.get("current_period_end"))
        or unix_time(first.get("current_period_end")),
        metadata={
            key: value
            for key, value in metadata.items()
            if isinstance(value, str) and len(key) <= 40 and len(value) <= 500
        },
    )


def tax_rate_create(*, percentage: int, idempotency_key: str) -> str:
    """An exclusive Swedish VAT rate (moms) for subscription invoices; its id."""
    rate = _call(
        _client().v1.tax_rates.create,
        idempotency_key=idempotency_key,
        display_name="Moms",
        percentage=percentage,
        inclusive=False,
        country="SE",
        jurisdiction="SE",
    )
    return rate.id


def product_create(*, name: str, metadata: dict[str, str], idempotency_key: str) -> str:
    return _call(
        _client().v1.products.create,
        idempotency_key=idempotency_key,
        name=name,
        metadata=metadata,
    ).id


def product_update(*, product_id: str, name: str, active: bool) -> None:
    _call(_client().v1.products.update, product_id, name=name, active=active)


def price_create(
    *, product_id: str, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
) -> str:
    """A monthly recurring price; Stripe's prices never change, a new amount is a new price."""
    return _call(
        _client().v1.prices.create,
        idempotency_key=idempotency_key,
        product=product_id,
        unit_amount=amount,
        currency=currency.lower(),
        recurring={"interval": "month"},
        tax_behavior="exclusive",
        metadata=metadata,
    ).id


def price_archive(*, price_id: str) -> None:
    _call(_client().v1.prices.update, price_id, active=False)


def customer_create(
    *, name: str, email: str, metadata: dict[str, str], idempotency_key: str
) -> str:
    params = {"name": name, "metadata": metadata, "preferred_locales": ["sv"]}
    if email:
        params["email"] = email
    return _call(_client().v1.customers.create, idempotency_key=idempotency_key, **params).id


def checkout_session_create(
    *,
    customer_id: str,
    price_id: str,
    tax_rate_id: str,
    metadata: dict[str, str],
    success_url: str,
    cancel_url: str,
    idempotency_key: str,
) -> CheckoutSession:
    """A Stripe-hosted page where the café starts the subscription by card."""
    subscription_data: dict = {"metadata": metadata}
    if tax_rate_id:
        subscription_data["default_tax_rates"] = [tax_rate_id]
    session = _call(
        _client().v1.checkout.sessions.create,
        idempotency_key=idempotency_key,
        mode="subscription",
        customer=customer_id,
        line_items=[{"price": price_id, "quantity": 1}],
        subscription_data=subscription_data,
        metadata=metadata,
        client_reference_id=metadata.get("offer", ""),
        success_url=success_url,
        cancel_url=cancel_url,
    )
    return CheckoutSession(id=session.id, url=session.url, customer=session.customer or "")


def subscription_create_invoiced(
    *,
    customer_id: str,
    price_id: str,
    tax_rate_id: str,
    days_until_due: int,
    metadata: dict[str, str],
    idempotency_key: str,
) -> BillingSubscription:
    """A subscription paid by invoice: Stripe e-mails each invoice, ``days_until_due`` to pay."""
    params: dict = {
        "customer": customer_id,
        "items": [{"price": price_id}],
        "collection_method": "send_invoice",
        "days_until_due": days_until_due,
        "metadata": metadata,
    }
    if tax_rate_id:
        params["default_tax_rates"] = [tax_rate_id]
    return billing_subscription(
        _call(_client().v1.subscriptions.create, idempotency_key=idempotency_key, **params)
    )


def subscriptions_of_customer(*, customer_id: str) -> list[BillingSubscription]:
    """Every subscription of a customer, whatever its status (for settling lost answers)."""
    pages = _call(_client().v1.subscriptions.list, customer=customer_id, status="all", limit=100)
    try:
        return [billing_subscription(item) for item in pages.auto_paging_iter()]
    except stripe.StripeError as error:
        raise _translated(error) from error


def subscription_retrieve(*, subscription_id: str) -> BillingSubscription:
    return billing_subscription(_call(_client().v1.subscriptions.retrieve, subscription_id))


def subscription_cancel_at_period_end(*, subscription_id: str, cancel: bool) -> BillingSubscription:
    return billing_subscription(
        _call(_client().v1.subscriptions.update, subscription_id, cancel_at_period_end=cancel)
    )


def subscription_price_change(
    *, subscription_id: str, price_id: str, idempotency_key: str
) -> BillingSubscription:
    """Move the subscription to another price; Stripe prorates the rest of the period."""
    current = _call(_client().v1.subscriptions.retrieve, subscription_id).to_dict()
    item_id = current["items"]["data"][0]["id"]
    return billing_subscription(
        _call(
            _client().v1.subscriptions.update,
            subscription_id,
            idempotency_key=idempotency_key,
            items=[{"id": item_id, "price": price_id}],
            proration_behavior="create_prorations",
        )
    )


def proration_preview(*, subscription_id: str, price_id: str) -> ProrationPreview:
    """What the next invoice would be if the subscription moved to ``price_id`` now."""
    current = _call(_client().v1.subscriptions.retrieve, subscription_id).to_dict()
    item_id = current["items"]["data"][0]["id"]
    preview = _call(
        _client().v1.invoices.create_preview,
        subscription=subscription_id,
        subscription_details={
            "items": [{"id": item_id, "price": price_id}],
            "proration_behavior": "create_prorations",
        },
    ).to_dict()
    lines = (preview.get("lines") or {}).get("data") or []
    proration = sum(int(line.get("amount") or 0) for line in lines if line.get("proration"))
    return ProrationPreview(
        amount_due=int(preview.get("amount_due") or 0),
        currency=str(preview.get("currency") or "sek"),
        proration=proration,
    )
