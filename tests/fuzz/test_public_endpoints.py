"""Generated hostile requests at every public endpoint: no 5xx, no partial rows, no leaks.

More than 5,000 requests per run (each test states its share) through the
whole middleware stack: the feedback form and its thanks page, the staff
link, reward claims, both webhooks (unsigned, and signed with the test
secret), the report pages' query parameters as a Viewer, and odd methods
and paths. After each test the database is checked for rows a failed
request could have left half-written, and everything the log handler
printed is checked for the contacts and tokens the requests carried.
"""

import logging
from urllib.parse import quote, urlencode

import pytest
from django.core import signing
from hypothesis import HealthCheck, given, settings
from hypothesis import settings as settings_of
from hypothesis import strategies as st

from core.logging import RedactContactDataFilter
from core.models import Heartbeat
from core.services import heartbeat_record
from pilots.models import Feedback, Payment, QRCode, RewardRecipient, StripeEvent
from pilots.services import qr_code_revoke
from pilots.views import THANKS_SALT
from support.models import Incident, StaffLink, Ticket
from support.services import staff_link_issue
from tests import strategies as hostile
from tests.conftest import Client, _logged_in_client, claim_path_of, good_feedback_submit

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

ALERTMANAGER_TOKEN = "fuzz-alertmanager-token-0123456789"
FUZZ = settings(
    deadline=None,
    database=None,
    derandomize=False,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


class World:
    """The rows the fuzz aims at, the clients it sends with, and what it saw."""

    def __init__(self, *, open_code, staff_link, revoked_code, claim, viewer, stripe_fake):
        self.open_code = open_code
        self.staff_link = staff_link
        self.revoked_code = revoked_code
        self.claim = claim
        self.viewer = viewer
        self.stripe_fake = stripe_fake
        self.anonymous = Client(raise_request_exception=False)
        self.strict = Client(raise_request_exception=False, enforce_csrf_checks=True)
        self.sent = 0
        self.expected = 0  # each test sets its share of the run's requests
        self.server_errors: list[tuple[str, str, int]] = []

    @property
    def secrets(self) -> list[str]:
        return [
            self.open_code.token,
            self.revoked_code.token,
            self.staff_link.token,
            self.claim,
            *hostile.KNOWN_EMAILS,
            *hostile.KNOWN_PHONES,
        ]

    def send(self, method, path, *, body=b"", content_type="", query=(), headers=None, client=None):
        url = path + ("?" + urlencode(list(query)) if query else "")
        response = (client or self.anonymous).generic(
            method, url, body, content_type=content_type, **(headers or {})
        )
        self.sent += 1
        if response.status_code >= 500:
            self.server_errors.append((method, path, response.status_code))
        return response


@pytest.fixture
def printed_log():
    """Everything the project's log handler prints during the test."""
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, RedactContactDataFilter) for f in handler.filters)
    ]
    printed: list[str] = []
    originals = []
    for handler in handlers:
        original = handler.stream

        class Tee:
            def write(self, text, original=original):
                printed.append(text)
                return original.write(text)

            def flush(self, original=original):
                original.flush()

        originals.append((handler, handler.setStream(Tee())))
    yield printed
    for handler, original in originals:
        handler.setStream(original)


@pytest.fixture
def world(open_code, settings, stripe_fake, staff_member, printed_log):
    settings.FEEDBACK_RATE_PER_DEVICE = "1000000/h"
    settings.FEEDBACK_RATE_PER_NETWORK = "1000000/h"
    settings.FEEDBACK_RATE_PER_CODE = "1000000/h"
    settings.STAFF_REPORT_RATE = "1000000/h"
    settings.STAFF_REPORT_RATE_PER_LINK = "1000000/h"
    settings.ALERTMANAGER_TOKEN = ALERTMANAGER_TOKEN
    revoked = _revoked_code(open_code)
    # A healthy installation: beat is alive, so readiness may honestly answer 200.
    heartbeat_record(source=Heartbeat.Source.BEAT)
    feedback = good_feedback_submit(open_code, contact_email="seed.fuzz@example.se", consent=True)
    fuzz = World(
        open_code=open_code,
        staff_link=staff_link_issue(business=open_code.business),
        revoked_code=revoked,
        claim=claim_path_of(feedback.payment.recipient).split("/")[3],
        viewer=_logged_in_client(staff_member("Viewers")),
        stripe_fake=stripe_fake,
    )
    yield fuzz
    _assert_no_partial_rows()
    _assert_nothing_leaked(fuzz, "".join(printed_log))


def _revoked_code(open_code) -> QRCode:
    from pilots.services import qr_codes_generate

    (code,) = qr_codes_generate(business=open_code.business, placements=["Old table"])
    return qr_code_revoke(qr_code=code)


def run(fuzz: World, requests) -> None:
    """Send the test's generated requests; none may be answered with a 5xx."""
    requests()
    assert fuzz.sent >= fuzz.expected, f"only {fuzz.sent} requests were sent"
    assert fuzz.server_errors == [], f"{len(fuzz.server_errors)} answers ≥ 500"


def _assert_no_partial_rows() -> None:
    """Every row a request wrote is whole: it validates, and what belongs to it exists."""
    for model in (Feedback, Payment, RewardRecipient, Ticket, Incident, StaffLink, StripeEvent):
        for row in model.objects.all():
            row.full_clean()
    for feedback in Feedback.objects.filter(reward_eligible=True):
        assert Payment.objects.filter(feedback=feedback).exists(), feedback.pk
    for ticket in Ticket.objects.all():
        assert ticket.reference.startswith("PO-"), ticket.reference
        assert ticket.events.filter(kind="created").exists(), ticket.reference
    for incident in Incident.objects.all():
        assert incident.reference.startswith("INC-"), incident.reference
        assert incident.updates.exists(), incident.reference


def _assert_nothing_leaked(fuzz: World, printed: str) -> None:
    leaked = [secret for secret in fuzz.secrets if secret and secret in printed]
    lowered = printed.lower()
    leaked += [email for email in hostile.KNOWN_EMAILS if email.lower() in lowered]
    assert leaked == [], f"printed in the log: {leaked}"


def _form_body(pairs) -> bytes:
    return urlencode(pairs).encode("utf-8", "surrogatepass")


def _headers(generated: dict, **more) -> dict:
    return {**generated, "REMOTE_ADDR": "10.9.9.9", **more}


# ------------------------------------------------------------------------------
# The feedback form and its thanks page: 1,300 + 500 requests
# ------------------------------------------------------------------------------
def test_fuzz_feedback_form(world):
    world.expected = 1300

    @settings(FUZZ, max_examples=world.expected)
    @given(
        target=st.sampled_from(["open", "revoked", "unknown"]),
        method=st.sampled_from(["GET", "POST", "POST", "POST", "PUT", "HEAD", "OPTIONS"]),
        pairs=hostile.feedback_form,
        content_type=st.one_of(st.just("application/x-www-form-urlencoded"), hostile.content_types),
        headers=hostile.headers,
        strict=st.booleans(),
        address=st.integers(0, 2**16),
    )
    def one(target, method, pairs, content_type, headers, strict, address):
        code = {"open": world.open_code, "revoked": world.revoked_code}.get(target)
        token = code.token if code else "unknowncodeunknowncode2345"
        world.send(
            method,
            f"/q/{token}/",
            body=_form_body(pairs),
            content_type=content_type,
            headers=_headers(headers, REMOTE_ADDR=f"10.{address >> 8}.{address & 255}.1"),
            client=world.strict if strict else None,
        )

    run(world, one)


def test_fuzz_thanks_page(world):
    world.expected = 500

    @settings(FUZZ, max_examples=world.expected)
    @given(
        receipt=st.one_of(
            hostile.hostile_text,
            st.integers(-(2**40), 2**40).map(
                lambda pk: signing.Signer(salt=THANKS_SALT).sign_object(pk)
            ),
            st.just(signing.Signer(salt=THANKS_SALT).sign_object("not a number")),
        ),
        query=hostile.query_strings,
        headers=hostile.headers,
    )
    def one(receipt, query, headers):
        world.send(
            "GET",
            f"/q/{world.open_code.token}/thanks/",
            query=[("r", receipt), *query],
            headers=_headers(headers),
        )

    run(world, one)


# ------------------------------------------------------------------------------
# The staff link: 900 requests
# ------------------------------------------------------------------------------
def test_fuzz_staff_link(world):
    world.expected = 900

    @settings(FUZZ, max_examples=world.expected)
    @given(
        method=st.sampled_from(["GET", "POST", "POST", "POST", "DELETE", "HEAD"]),
        pairs=hostile.staff_form,
        content_type=st.one_of(st.just("application/x-www-form-urlencoded"), hostile.content_types),
        query=hostile.query_strings,
        headers=hostile.headers,
        token=st.one_of(st.just(None), hostile.tokens),
    )
    def one(method, pairs, content_type, query, headers, token):
        world.send(
            method,
            f"/staff/{quote(token) if token else world.staff_link.token}/",
            body=_form_body(pairs),
            content_type=content_type,
            query=query,
            headers=_headers(headers),
        )

    run(world, one)


# ------------------------------------------------------------------------------
# Self-service data requests: 400 requests
# ------------------------------------------------------------------------------
def test_fuzz_data_requests(world, settings):
    settings.DATA_REQUEST_RATE_PER_CLIENT = "1000000/h"
    world.expected = 400

    @settings_of(FUZZ, max_examples=world.expected)
    @given(
        link=st.booleans(),
        method=st.sampled_from(["GET", "POST", "POST", "PUT"]),
        token=hostile.tokens,
        pairs=hostile.form_fields(
            {
                "contact": hostile.contact_text,
                "website": st.one_of(st.just(""), hostile.hostile_text),
                "action": st.one_of(st.sampled_from(["show", "erase"]), hostile.hostile_text),
            }
        ),
        query=hostile.query_strings,
        headers=hostile.headers,
    )
    def one(link, method, token, pairs, query, headers):
        path = f"/privacy/request/{quote(token, safe='')}/" if link else "/privacy/request/"
        world.send(
            method,
            path,
            body=_form_body(pairs),
            content_type="application/x-www-form-urlencoded",
            query=query,
            headers=_headers(headers),
        )

    run(world, one)


# ------------------------------------------------------------------------------
# Reward claims: 400 requests
# ------------------------------------------------------------------------------
def test_fuzz_reward_claims(world):
    world.expected = 400

    @settings(FUZZ, max_examples=world.expected)
    @given(
        page=st.sampled_from(["claim", "claimed"]),
        method=st.sampled_from(["GET", "POST", "PUT"]),
        token=st.one_of(st.none(), hostile.tokens),
        pairs=st.lists(st.tuples(hostile.hostile_text, hostile.hostile_text), max_size=3),
        headers=hostile.headers,
    )
    def one(page, method, token, pairs, headers):
        token = quote(token, safe="") if token else world.claim
        world.send(
            method,
            f"/rewards/{page}/{token}/",
            body=_form_body(pairs),
            content_type="application/x-www-form-urlencoded",
            headers=_headers(headers),
        )

    run(world, one)


# ------------------------------------------------------------------------------
# Webhooks: 700 Alertmanager, 300 unsigned and 400 signed Stripe requests
# ------------------------------------------------------------------------------
def test_fuzz_alertmanager_webhook(world):
    world.expected = 700

    @settings(FUZZ, max_examples=world.expected)
    @given(
        body=hostile.alertmanager_bodies,
        with_token=st.booleans(),
        content_type=st.one_of(st.just("application/json"), hostile.content_types),
        method=st.sampled_from(["POST", "POST", "POST", "GET", "PUT"]),
    )
    def one(body, with_token, content_type, method):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {ALERTMANAGER_TOKEN}"} if with_token else {}
        world.send(
            method, "/webhooks/alertmanager/", body=body, content_type=content_type, headers=headers
        )

    run(world, one)


def test_fuzz_stripe_webhook_unsigned(world):
    world.expected = 300

    @settings(FUZZ, max_examples=world.expected)
    @given(
        body=st.one_of(st.binary(max_size=300), hostile.json_values.map(str).map(str.encode)),
        headers=hostile.headers,
        content_type=st.one_of(st.just("application/json"), hostile.content_types),
    )
    def one(body, headers, content_type):
        world.send(
            "POST", "/webhooks/stripe/", body=body, content_type=content_type, headers=headers
        )

    run(world, one)


def test_fuzz_stripe_webhook_signed_events(world):
    world.expected = 400

    @settings(FUZZ, max_examples=world.expected)
    @given(
        event_type=hostile.stripe_event_types,
        obj=hostile.stripe_objects,
        event_id=st.one_of(st.just(""), st.text(string_ids, min_size=1, max_size=40)),
    )
    def one(event_type, obj, event_id):
        payload, signature = world.stripe_fake.signed_event(event_type, obj, event_id=event_id)
        world.send(
            "POST",
            "/webhooks/stripe/",
            body=payload,
            content_type="application/json",
            headers={"HTTP_STRIPE_SIGNATURE": signature},
        )

    run(world, one)


string_ids = "abcdefghijklmnopqrstuvwxyz0123456789_"


# ------------------------------------------------------------------------------
# The report pages' query parameters, as a Viewer: 300 requests
# ------------------------------------------------------------------------------
def test_fuzz_report_pages(world):
    world.expected = 300
    pilot = world.open_code.feedback.first().pilot

    @settings(FUZZ, max_examples=world.expected)
    @given(
        page=st.sampled_from(
            [
                f"/admin/pilots/pilot/{pilot.pk}/report/",
                f"/admin/pilots/pilot/{pilot.pk}/report.csv",
                "/admin/support/ticket/reports/",
                "/admin/pilots/feedback/",
                "/admin/support/ticket/",
            ]
        ),
        start=hostile.dates,
        end=hostile.dates,
        query=hostile.query_strings,
    )
    def one(page, start, end, query):
        world.send("GET", page, query=[("start", start), ("end", end), *query], client=world.viewer)

    run(world, one)


# ------------------------------------------------------------------------------
# Odd methods and paths: 700 requests
# ------------------------------------------------------------------------------
def test_fuzz_odd_methods_and_paths(world):
    world.expected = 700

    @settings(FUZZ, max_examples=world.expected)
    @given(
        method=st.sampled_from(hostile.METHODS),
        path=hostile.odd_paths,
        query=hostile.query_strings,
        headers=hostile.headers,
        content_type=hostile.content_types,
        body=st.binary(max_size=200),
    )
    def one(method, path, query, headers, content_type, body):
        world.send(
            method,
            path,
            body=body,
            content_type=content_type,
            query=query,
            headers=_headers(headers),
        )

    run(world, one)
