"""The Stripe Billing part of the Stripe fake: products, prices, tax rates,
customers, Checkout sessions in subscription mode, subscriptions (also
``collection_method=send_invoice`` with ``days_until_due``), invoices, the
proration preview, and the events Stripe would send for each change.

Every change appends an event (type, a copy of the object, its ``created``
on the fake's own clock, one second apart) to ``billing_events``; tests sign
them with ``signed_event`` and deliver them in any order, any number of times.
Tests steer what the café does at Stripe: ``checkout_complete``,
``invoice_fail``, ``invoice_pay``, ``subscription_end``.
"""

import copy
import time

from tests.stripe_fake_errors import StripeFailure

MONTH = 30 * 24 * 3600


def _int(params: dict, name: str) -> int:
    try:
        return int(params.get(name, ""))
    except ValueError:
        raise StripeFailure(
            400,
            "invalid_request_error",
            "Invalid integer",
            code="parameter_invalid_integer",
            param=name,
        ) from None


def _listed(value) -> list:
    """Stripe's form encoding of a list (``items[0][price]``) back into a list."""
    if isinstance(value, dict):
        return [value[key] for key in sorted(value, key=int)]
    return list(value or [])


def _true(value) -> bool:
    return value in (True, "true", "True", "1")


class BillingFakeMixin:
    """Mixed into StripeFake; ``self.state`` holds the billing objects too."""

    # --- the fake's clock and events ----------------------------------------------------
    def _tick(self) -> int:
        self.state.clock = max(self.state.clock + 1, int(time.time()))
        return self.state.clock

    def _emit(self, event_type: str, obj: dict) -> None:
        self.state.billing_events.append(
            {
                "id": f"evt_fake{next(self.ids):08d}",
                "type": event_type,
                "created": self._tick(),
                "object": copy.deepcopy(obj),
            }
        )

    def billing_events(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(self.state.billing_events)

    def subscriptions(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(list(self.state.subscriptions.values()))

    def invoices(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(list(self.state.invoices.values()))

    def checkout_sessions(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(list(self.state.checkout_sessions.values()))

    def prices(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(list(self.state.prices.values()))

    def products(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(list(self.state.products.values()))

    # --- steering: what the café does at Stripe -------------------------------------------
    def checkout_complete(self, session_id: str, *, pay: bool = True) -> dict:
        """The café pays on the Checkout page: a subscription starts and its first invoice."""
        with self.lock:
            session = self.state.checkout_sessions[session_id]
            if session["status"] != "open":
                raise ValueError(f"Checkout session {session_id} is {session['status']}")
            price = self.state.prices[session["_price"]]
            subscription = self._subscription_new(
                customer=session["customer"],
                price=price,
                collection_method="charge_automatically",
                days_until_due=None,
                metadata=dict(session["_subscription_metadata"]),
                tax_rates=session["_tax_rates"],
                status="active" if pay else "incomplete",
            )
            session.update(status="complete", subscription=subscription["id"])
            self._emit("checkout.session.completed", self._public(session))
            self._emit("customer.subscription.created", subscription)
            invoice = self._invoice_new(subscription, price)
            if pay:
                self._invoice_paid(invoice)
            return copy.deepcopy(subscription)

    def checkout_expire(self, session_id: str) -> dict:
        """Nobody paid on the Checkout page in time: Stripe expires the session."""
        with self.lock:
            session = self.state.checkout_sessions[session_id]
            session.update(status="expired", url=None)
            self._emit("checkout.session.expired", self._public(session))
            return copy.deepcopy(session)

    def invoice_fail(self, invoice_id: str) -> dict:
        """A payment attempt fails: the invoice stays open and the subscription falls past due."""
        with self.lock:
            invoice = self.state.invoices[invoice_id]
            invoice["attempt_count"] += 1
            invoice["attempted"] = True
            self._emit("invoice.payment_failed", invoice)
            subscription = self.state.subscriptions[invoice["subscription"]]
            if subscription["status"] in ("active", "trialing"):
                subscription["status"] = "past_due"
                self._emit("customer.subscription.updated", subscription)
            return copy.deepcopy(invoice)

    def invoice_pay(self, invoice_id: str) -> dict:
        with self.lock:
            invoice = self.state.invoices[invoice_id]
            self._invoice_paid(invoice)
            return copy.deepcopy(invoice)

    def subscription_end(self, subscription_id: str) -> dict:
        """The subscription ends now (its period ran out after cancel_at_period_end)."""
        with self.lock:
            subscription = self.state.subscriptions[subscription_id]
            subscription.update(status="canceled", ended_at=self._tick())
            self._emit("customer.subscription.deleted", subscription)
            return copy.deepcopy(subscription)

    def invoice_new_period(self, subscription_id: str) -> dict:
        """The next month's invoice is issued (finalized, open)."""
        with self.lock:
            subscription = self.state.subscriptions[subscription_id]
            price = self.state.prices[subscription["items"]["data"][0]["price"]["id"]]
            return copy.deepcopy(self._invoice_new(subscription, price))

    # --- objects -----------------------------------------------------------------------
    @staticmethod
    def _public(obj: dict) -> dict:
        return {key: value for key, value in obj.items() if not key.startswith("_")}

    def _missing(self, kind: str, object_id: str, param: str = "id"):
        raise StripeFailure(
            404,
            "invalid_request_error",
            f"No such {kind}: '{object_id}'",
            code="resource_missing",
            param=param,
        )

    def _get(self, table: str, kind: str, object_id: str, param: str = "id") -> dict:
        found = getattr(self.state, table).get(object_id)
        if found is None:
            self._missing(kind, object_id, param)
        return found

    def _subscription_new(
        self,
        *,
        customer: str,
        price: dict,
        collection_method: str,
        days_until_due: int | None,
        metadata: dict,
        tax_rates: list[str],
        status: str,
    ) -> dict:
        now = self._tick()
        subscription_id = f"sub_fake{next(self.ids):08d}"
        subscription = {
            "id": subscription_id,
            "object": "subscription",
            "customer": customer,
            "status": status,
            "collection_method": collection_method,
            "days_until_due": days_until_due,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "created": now,
            "current_period_start": now,
            "current_period_end": now + MONTH,
            "default_tax_rates": [self.state.tax_rates[rate] for rate in tax_rates],
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": f"si_fake{next(self.ids):08d}",
                        "object": "subscription_item",
                        "price": copy.deepcopy(price),
                        "quantity": 1,
                        "subscription": subscription_id,
                    }
                ],
            },
            "latest_invoice": None,
            "metadata": metadata,
        }
        self.state.subscriptions[subscription_id] = subscription
        return subscription

    def _tax_percent(self, subscription: dict) -> int:
        return sum(int(rate["percentage"]) for rate in subscription["default_tax_rates"])

    def _invoice_new(self, subscription: dict, price: dict, *, amount: int | None = None) -> dict:
        now = self._tick()
        subtotal = price["unit_amount"] if amount is None else amount
        tax = subtotal * self._tax_percent(subscription) // 100
        days = subscription["days_until_due"]
        invoice = {
            "id": f"in_fake{next(self.ids):08d}",
            "object": "invoice",
            "customer": subscription["customer"],
            "subscription": subscription["id"],
            "subscription_details": {"metadata": dict(subscription["metadata"])},
            "collection_method": subscription["collection_method"],
            "currency": price["currency"],
            "subtotal": subtotal,
            "tax": tax,
            "total": subtotal + tax,
            "amount_due": subtotal + tax,
            "amount_paid": 0,
            "amount_remaining": subtotal + tax,
            "attempt_count": 0,
            "attempted": False,
            "status": "open",
            "number": f"PO-{len(self.state.invoices) + 1:04d}",
            "created": now,
            "due_date": now + days * 24 * 3600 if days else None,
            "period_start": subscription["current_period_start"],
            "period_end": subscription["current_period_end"],
            "hosted_invoice_url": f"{self.url}/invoice/{len(self.state.invoices) + 1}",
            "invoice_pdf": f"{self.url}/invoice/{len(self.state.invoices) + 1}/pdf",
            "status_transitions": {"finalized_at": now, "paid_at": None},
        }
        self.state.invoices[invoice["id"]] = invoice
        subscription["latest_invoice"] = invoice["id"]
        self._emit("invoice.finalized", invoice)
        return invoice

    def _invoice_paid(self, invoice: dict) -> None:
        if invoice["status"] == "paid":
            return
        invoice.update(
            status="paid",
            amount_paid=invoice["amount_due"],
            amount_remaining=0,
            attempted=True,
            status_transitions={**invoice["status_transitions"], "paid_at": self._tick()},
        )
        self._emit("invoice.paid", invoice)
        subscription = self.state.subscriptions[invoice["subscription"]]
        if subscription["status"] in ("incomplete", "past_due", "unpaid"):
            subscription["status"] = "active"
            self._emit("customer.subscription.updated", subscription)

    # --- the API -----------------------------------------------------------------------
    def _billing_route(self, method: str, parts: list[str], params: dict) -> tuple[int, dict]:
        resource, rest = (parts[1] if len(parts) > 1 else ""), parts[2:]
        if parts[1:3] == ["checkout", "sessions"] and len(parts) == 3 and method == "POST":
            return 200, self._public(self._checkout_session_new(params))
        if resource == "tax_rates" and not rest and method == "POST":
            rate = {
                "id": f"txr_fake{next(self.ids):08d}",
                "object": "tax_rate",
                "percentage": float(params.get("percentage", 0)),
                "inclusive": _true(params.get("inclusive")),
                "display_name": params.get("display_name", ""),
                "country": params.get("country"),
                "active": True,
            }
            self.state.tax_rates[rate["id"]] = rate
            return 200, dict(rate)
        if resource == "products" and not rest and method == "POST":
            if not params.get("name"):
                raise StripeFailure(
                    400, "invalid_request_error", "Missing required param: name.", param="name"
                )
            product = {
                "id": f"prod_fake{next(self.ids):08d}",
                "object": "product",
                "name": params["name"],
                "active": True,
                "metadata": params.get("metadata", {}),
            }
            self.state.products[product["id"]] = product
            return 200, dict(product)
        if resource == "products" and len(rest) == 1:
            product = self._get("products", "product", rest[0])
            if method == "POST":
                if "name" in params:
                    product["name"] = params["name"]
                if "active" in params:
                    product["active"] = _true(params["active"])
            return 200, dict(product)
        if resource == "prices" and not rest and method == "POST":
            return 200, dict(self._price_new(params))
        if resource == "prices" and len(rest) == 1:
            price = self._get("prices", "price", rest[0])
            if method == "POST" and "active" in params:
                price["active"] = _true(params["active"])
            return 200, dict(price)
        if resource == "customers" and not rest and method == "POST":
            customer = {
                "id": f"cus_fake{next(self.ids):08d}",
                "object": "customer",
                "name": params.get("name"),
                "email": params.get("email"),
                "metadata": params.get("metadata", {}),
            }
            self.state.customers[customer["id"]] = customer
            return 200, dict(customer)
        if resource == "subscriptions" and not rest and method == "POST":
            return 200, copy.deepcopy(self._subscription_create(params))
        if resource == "subscriptions" and not rest and method == "GET":
            return 200, self._subscription_list(params)
        if resource == "subscriptions" and len(rest) == 1 and method == "GET":
            return 200, copy.deepcopy(self._get("subscriptions", "subscription", rest[0]))
        if resource == "subscriptions" and len(rest) == 1 and method == "POST":
            return 200, copy.deepcopy(self._subscription_update(rest[0], params))
        if resource == "invoices" and rest == ["create_preview"] and method == "POST":
            return 200, self._invoice_preview(params)
        if resource == "invoices" and len(rest) == 1 and method == "GET":
            return 200, copy.deepcopy(self._get("invoices", "invoice", rest[0]))
        raise StripeFailure(
            404,
            "invalid_request_error",
            f"Unrecognized request URL ({method}: /{'/'.join(parts)}).",
        )

    def _price_new(self, params: dict) -> dict:
        product = self._get("products", "product", params.get("product", ""), "product")
        amount = _int(params, "unit_amount")
        if amount < 0:
            raise StripeFailure(
                400, "invalid_request_error", "Invalid unit_amount", param="unit_amount"
            )
        price = {
            "id": f"price_fake{next(self.ids):08d}",
            "object": "price",
            "product": product["id"],
            "unit_amount": amount,
            "currency": params.get("currency", "sek"),
            "recurring": {"interval": params.get("recurring", {}).get("interval", "month")},
            "tax_behavior": params.get("tax_behavior", "unspecified"),
            "active": True,
            "metadata": params.get("metadata", {}),
        }
        self.state.prices[price["id"]] = price
        return price

    def _active_price(self, price_id: str, param: str) -> dict:
        price = self._get("prices", "price", price_id, param)
        if not price["active"]:
            raise StripeFailure(
                400, "invalid_request_error", f"The price {price_id} is not active.", param=param
            )
        return price

    def _checkout_session_new(self, params: dict) -> dict:
        if params.get("mode") != "subscription":
            raise StripeFailure(
                400, "invalid_request_error", "This fake serves mode=subscription.", param="mode"
            )
        customer = self._get("customers", "customer", params.get("customer", ""), "customer")
        items = _listed(params.get("line_items"))
        if len(items) != 1:
            raise StripeFailure(
                400, "invalid_request_error", "One line item, please.", param="line_items"
            )
        price = self._active_price(items[0].get("price", ""), "line_items[0][price]")
        subscription_data = params.get("subscription_data", {})
        session_id = f"cs_test_fake{next(self.ids):08d}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "subscription",
            "status": "open",
            "customer": customer["id"],
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}),
            "subscription": None,
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "url": f"{self.url}/checkout/{session_id}",
            "_price": price["id"],
            "_subscription_metadata": subscription_data.get("metadata", {}),
            "_tax_rates": [
                self._get("tax_rates", "tax rate", rate, "default_tax_rates")["id"]
                for rate in _listed(subscription_data.get("default_tax_rates"))
            ],
        }
        self.state.checkout_sessions[session_id] = session
        return session

    def _subscription_create(self, params: dict) -> dict:
        customer = self._get("customers", "customer", params.get("customer", ""), "customer")
        items = _listed(params.get("items"))
        if len(items) != 1:
            raise StripeFailure(400, "invalid_request_error", "One item, please.", param="items")
        price = self._active_price(items[0].get("price", ""), "items[0][price]")
        method = params.get("collection_method", "charge_automatically")
        days = _int(params, "days_until_due") if method == "send_invoice" else None
        if method == "send_invoice" and not days:
            raise StripeFailure(
                400,
                "invalid_request_error",
                "days_until_due is required with collection_method=send_invoice",
                param="days_until_due",
            )
        subscription = self._subscription_new(
            customer=customer["id"],
            price=price,
            collection_method=method,
            days_until_due=days,
            metadata=params.get("metadata", {}),
            tax_rates=[
                self._get("tax_rates", "tax rate", rate, "default_tax_rates")["id"]
                for rate in _listed(params.get("default_tax_rates"))
            ],
            # An invoiced subscription is active at once; its invoice is due in N days.
            status="active" if method == "send_invoice" else "incomplete",
        )
        self._emit("customer.subscription.created", subscription)
        self._invoice_new(subscription, price)
        return subscription

    def _subscription_list(self, params: dict) -> dict:
        status = params.get("status", "")
        found = [
            copy.deepcopy(s)
            for s in reversed(list(self.state.subscriptions.values()))
            if (not params.get("customer") or s["customer"] == params["customer"])
            and (
                status == "all"
                or (s["status"] != "canceled" if not status else s["status"] == status)
            )
        ]
        limit = int(params.get("limit", 10))
        return {
            "object": "list",
            "data": found[:limit],
            "has_more": len(found) > limit,
            "url": "/v1/subscriptions",
        }

    def _subscription_update(self, subscription_id: str, params: dict) -> dict:
        subscription = self._get("subscriptions", "subscription", subscription_id)
        if subscription["status"] == "canceled":
            raise StripeFailure(
                400,
                "invalid_request_error",
                "A canceled subscription can only update its cancellation_details and metadata.",
            )
        if "cancel_at_period_end" in params:
            subscription["cancel_at_period_end"] = _true(params["cancel_at_period_end"])
        items = _listed(params.get("items"))
        if items:
            old = subscription["items"]["data"][0]
            price = self._active_price(items[0].get("price", ""), "items[0][price]")
            proration = self._proration(subscription, price)
            old["price"] = copy.deepcopy(price)
            if proration:
                self._invoice_new(subscription, price, amount=proration)
        self._emit("customer.subscription.updated", subscription)
        return subscription

    def _proration(self, subscription: dict, price: dict) -> int:
        """The new price minus the old, for the part of the period left (whole days)."""
        old = subscription["items"]["data"][0]["price"]["unit_amount"]
        left = max(0, subscription["current_period_end"] - self._tick())
        days_left, days = left // (24 * 3600), MONTH // (24 * 3600)
        return (price["unit_amount"] - old) * days_left // days

    def _invoice_preview(self, params: dict) -> dict:
        subscription = self._get(
            "subscriptions", "subscription", params.get("subscription", ""), "subscription"
        )
        details = params.get("subscription_details", {})
        items = _listed(details.get("items"))
        current = subscription["items"]["data"][0]["price"]
        price = self._active_price(items[0].get("price", ""), "items") if items else current
        proration = self._proration(subscription, price)
        percent = self._tax_percent(subscription)
        lines = [
            {"amount": price["unit_amount"], "proration": False, "description": "next month"},
        ]
        if proration:
            lines.append({"amount": proration, "proration": True, "description": "change of plan"})
        subtotal = sum(line["amount"] for line in lines)
        return {
            "object": "invoice",
            "currency": price["currency"],
            "subtotal": subtotal,
            "tax": subtotal * percent // 100,
            "amount_due": max(0, subtotal + subtotal * percent // 100),
            "lines": {"object": "list", "data": lines},
        }
