"""Hypothesis strategies for hostile requests at Pilot Ops' public endpoints.

What a scanner, a broken client or an attacker sends: every text a form
field can carry (NUL, lone surrogates as their replacement, right-to-left
marks, megabytes), repeated and unknown choices, bodies in the wrong
content type or charset, garbage headers and cookies, odd methods and
paths with encoded slashes and backslashes, and out-of-range dates.
"""

import json
import string

from hypothesis import strategies as st

METHODS = ["GET", "POST", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE", "TRACE", "PROPFIND"]
CATEGORIES = ["service", "food_drink", "cleanliness", "atmosphere", "price", "waiting_time"]
STAFF_CATEGORIES = ["outage", "reward", "qr_code", "feedback_form", "other", "payments"]

# Contacts the fuzz sends, so the log check knows what must never be printed.
KNOWN_EMAILS = ["gunnar.fuzz@example.se", "Anna+Fuzz@Example.co.uk", "kim.fuzz@example.org"]
KNOWN_PHONES = ["+46701234567", "070-765 43 21", "0046 8 123 456 78"]

nasty_characters = st.sampled_from(
    ["\x00", "\u202e", "\ufeff", "\ud7ff", "\U0001f600", "'", '"', "<", ">", "&", "%", "\\", "\r\n"]
)
hostile_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
    st.lists(nasty_characters, max_size=8).map("".join),
    st.sampled_from(
        [
            "",
            " ",
            "=cmd|' /C calc'!A0",
            "<script>alert(1)</script>",
            "{{ 7*7 }}",
            "../../etc/passwd",
            "x" * 2001,
            "x" * 70_000,
            "0" * 300,
            *KNOWN_EMAILS,
            *KNOWN_PHONES,
        ]
    ),
)
contact_text = st.one_of(
    st.sampled_from(KNOWN_EMAILS + KNOWN_PHONES),
    st.builds(lambda local: f"{local}@example.se", st.text(string.ascii_letters, max_size=70)),
    hostile_text,
)
rating_text = st.one_of(
    st.sampled_from(["1", "3", "5", "0", "6", "-1", "5.0", "", "x", "1e9", "٣"]), hostile_text
)
dates = st.one_of(
    st.dates().map(str),
    st.sampled_from(["9999-12-31", "0001-01-01", "2026-02-30", "2026-13-01", "", "today"]),
    hostile_text,
)
tokens = st.one_of(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567", min_size=16, max_size=64),
    st.text(min_size=1, max_size=40),
    st.sampled_from(["%00", "..", "%2F%2Fevil.example", "%5Cevil.example", "a" * 300]),
)


def form_fields(names_and_values: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """Form data as a list of pairs: fields left out, repeated, unknown ones added."""
    pairs = [
        st.lists(st.tuples(st.just(name), values), max_size=3)
        for name, values in names_and_values.items()
    ]
    extra = st.lists(st.tuples(hostile_text, hostile_text), max_size=2)
    return st.tuples(*pairs, extra).map(lambda parts: [pair for part in parts for pair in part])


feedback_form = form_fields(
    {
        "rating": rating_text,
        "categories": st.one_of(st.sampled_from(CATEGORIES), hostile_text),
        "comment": hostile_text,
        "contact": contact_text,
        "consent": st.sampled_from(["on", "", "off", "1", "true"]),
        "website": st.one_of(st.just(""), hostile_text),
        "csrfmiddlewaretoken": st.one_of(st.just(""), hostile_text),
    }
)
staff_form = form_fields(
    {
        "category": st.one_of(st.sampled_from(STAFF_CATEGORIES), hostile_text),
        "description": hostile_text,
        "reporter": st.one_of(contact_text, hostile_text),
        "website": st.one_of(st.just(""), hostile_text),
    }
)

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), hostile_text),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(hostile_text, children, max_size=4)
    ),
    max_leaves=20,
)
alertmanager_bodies = st.one_of(
    json_values.map(lambda value: json.dumps(value).encode()),
    st.builds(
        lambda alerts: json.dumps({"version": "4", "alerts": alerts}).encode(),
        st.lists(
            st.fixed_dictionaries(
                {
                    "status": st.sampled_from(["firing", "resolved", "", "x"]),
                    "fingerprint": st.one_of(hostile_text, st.integers()),
                    "labels": st.dictionaries(
                        st.sampled_from(["alertname", "severity", "business", "x"]),
                        st.one_of(hostile_text, json_values),
                        max_size=4,
                    ),
                    "annotations": st.one_of(
                        st.dictionaries(st.sampled_from(["summary", "description"]), hostile_text),
                        json_values,
                    ),
                }
            ),
            max_size=3,
        ),
    ),
    st.binary(max_size=200),
    st.integers(1, 10_000).map(lambda depth: b"[" * depth + b"]" * depth),
)
stripe_objects = st.one_of(
    st.fixed_dictionaries(
        {
            "id": st.one_of(hostile_text, st.just("acct_fuzz")),
            "object": st.sampled_from(["account", "transfer", "x"]),
            "payouts_enabled": st.one_of(st.booleans(), hostile_text),
            "amount": st.one_of(st.integers(), hostile_text),
            "destination": hostile_text,
            "transfer_group": hostile_text,
            "reversed": st.one_of(st.booleans(), hostile_text),
        }
    ),
    # Billing: subscriptions, invoices and Checkout sessions, with hostile fields.
    st.fixed_dictionaries(
        {
            "id": st.one_of(hostile_text, st.just("sub_fuzz")),
            "object": st.sampled_from(["subscription", "invoice", "checkout.session"]),
            "status": st.one_of(st.sampled_from(["active", "past_due", "canceled"]), hostile_text),
            "customer": st.one_of(hostile_text, st.text(min_size=256, max_size=300)),
            "subscription": st.one_of(hostile_text, json_values),
            "mode": st.one_of(st.just("subscription"), hostile_text),
            "metadata": st.one_of(
                st.fixed_dictionaries({"offer": st.one_of(st.just("1"), hostile_text)}),
                json_values,
            ),
            "items": json_values,
            "subscription_details": json_values,
            "amount_due": st.one_of(st.integers(), hostile_text),
            "due_date": st.one_of(st.integers(), hostile_text),
            "current_period_end": st.one_of(st.integers(), hostile_text),
            "hosted_invoice_url": hostile_text,
            "status_transitions": json_values,
            "cancel_at_period_end": json_values,
        }
    ),
    st.dictionaries(hostile_text, json_values, max_size=4),
)
stripe_event_types = st.one_of(
    st.sampled_from(
        [
            "account.updated",
            "transfer.created",
            "transfer.updated",
            "transfer.reversed",
            "checkout.session.completed",
            "customer.subscription.created",
            "customer.subscription.updated",
            "customer.subscription.deleted",
            "invoice.finalized",
            "invoice.paid",
            "invoice.payment_failed",
            "x",
        ]
    ),
    hostile_text,
)
content_types = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8",
        "application/x-www-form-urlencoded; charset=latin-1",
        "application/x-www-form-urlencoded; charset=nonsense",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data; boundary=",
        "application/json",
        "application/json; charset=utf-16",
        "text/plain",
        "",
        "a/b; c",
    ]
)


def wsgi_header(value: str) -> str:
    """A header value as a WSGI server hands it on: the raw bytes read as Latin-1, one line."""
    return (
        value.encode("utf-8", "surrogatepass").decode("latin-1").replace("\r", "").replace("\n", "")
    )


headers = st.fixed_dictionaries(
    {},
    optional={
        "HTTP_ACCEPT_LANGUAGE": st.one_of(
            st.sampled_from(["en", "sv-SE,sv;q=0.9", "*"]), hostile_text
        ),
        "HTTP_X_FORWARDED_FOR": st.one_of(st.ip_addresses().map(str), hostile_text),
        "HTTP_X_REQUEST_ID": hostile_text,
        "HTTP_COOKIE": st.one_of(
            st.builds(
                lambda value: f"csrftoken={value}", st.text(string.ascii_letters, max_size=64)
            ),
            st.builds(lambda value: f"django_language={value}", hostile_text),
        ),
        "HTTP_AUTHORIZATION": st.one_of(st.just("Bearer "), hostile_text),
        "HTTP_STRIPE_SIGNATURE": hostile_text,
    },
).map(lambda found: {key: wsgi_header(value) for key, value in found.items()})
odd_paths = st.one_of(
    st.sampled_from(
        [
            "/",
            "//evil.example/login",
            "/%5Cevil.example/login",
            "/%2F%2Fevil.example",
            "/q/",
            "/q//thanks/",
            "/staff/",
            "/rewards/claim/",
            "/admin/login/",
            "/admin/../metrics",
            "/health/",
            "/health/ready/",
            "/metrics",
            "/privacy/",
            "/static/../config/settings.py",
            "/webhooks/",
            "/%00",
            "/" + "a" * 3000,
        ]
    ),
    st.builds(lambda parts: "/" + "/".join(parts), st.lists(tokens, min_size=1, max_size=4)),
)
query_strings = st.lists(
    st.tuples(
        st.sampled_from(["lang", "r", "start", "end", "reported", "q", "o", "p"]), hostile_text
    ),
    max_size=4,
)
