"""Hostile input: each kind of request an independent review found answered badly.

Every test sends what an attacker (or a broken client) would, and checks the
answer is a clear 4xx, nothing is stored and nothing leaks.
"""

import json
import logging
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import include, path

from core import roles
from core.logging import redact_contact_data
from core.views import permission_denied
from pilots.models import Feedback, Payment
from support.models import Incident, Ticket
from tests.conftest import Client, feedback_post
from tests.support.test_incidents import TOKEN, URL, alertmanager_payload

pytestmark = pytest.mark.django_db

SITE = "https://pilotops.example.se"


def form_url(code) -> str:
    return f"/q/{code.token}/"


# ------------------------------------------------------------------------------
# 1. 500s anyone can trigger
# ------------------------------------------------------------------------------
@pytest.mark.parametrize("debug", [False, True])
def test_form_in_latin_1_with_a_made_up_csrf_cookie_is_400(settings, open_code, debug):
    settings.DEBUG = debug  # the embedded mode runs with DEBUG on
    client = Client(raise_request_exception=False)
    client.cookies["csrftoken"] = "abcdefghijabcdefghijabcdefghijab"

    response = client.post(
        form_url(open_code),
        "rating=5&comment=caf%E9",
        content_type="application/x-www-form-urlencoded; charset=latin-1",
    )

    assert response.status_code == 400
    assert Feedback.objects.count() == 0


def test_repeated_category_is_refused_by_the_form(client, open_code):
    response = client.post(
        form_url(open_code),
        feedback_post(categories=["service", "service"]),
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert "Choose each topic once." in response.content.decode()
    assert Feedback.objects.count() == 0


def test_nul_character_in_a_comment_is_400(client, open_code):
    response = client.post(form_url(open_code), feedback_post(comment="nice\x00 coffee"))

    assert response.status_code == 400
    assert Feedback.objects.count() == 0


def test_broken_multipart_body_on_the_admin_login_is_400(client):
    response = client.post(
        "/admin/login/",
        b"--x\r\nContent-Disposition: form-data; name=\r\n\r\nbroken",
        content_type="multipart/form-data; boundary=",
    )

    assert response.status_code == 400


# ------------------------------------------------------------------------------
# 2. 500s behind a token or secret
# ------------------------------------------------------------------------------
@pytest.fixture
def alertmanager(client, settings):
    settings.ALERTMANAGER_TOKEN = TOKEN

    def post(body: bytes):
        return client.post(
            URL, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
        )

    return post


def test_alertmanager_body_nested_deeply_is_400(alertmanager):
    response = alertmanager(b"[" * 100_000 + b"]" * 100_000)

    assert response.status_code == 400
    assert "nested deeper" in response.json()["error"]


def test_alertmanager_alert_with_an_empty_alertname_opens_an_incident(alertmanager):
    payload = alertmanager_payload("firing")
    payload["alerts"][0]["labels"]["alertname"] = ""
    payload["alerts"][0]["annotations"] = {}

    response = alertmanager(json.dumps(payload).encode())

    assert response.status_code == 200
    assert Incident.objects.get().title == "alert"


def test_alertmanager_nul_characters_are_400_and_store_nothing(alertmanager):
    payload = alertmanager_payload("firing")
    payload["alerts"][0]["annotations"]["summary"] = "disk\x00full"

    response = alertmanager(json.dumps(payload).encode())

    assert response.status_code == 400
    assert "NUL" in response.json()["error"]
    assert Incident.objects.count() == 0


@pytest.mark.parametrize(
    "query",
    ["?start=2026-01-01&end=9999-12-31", "?start=0001-01-01&end=9999-12-31", "?end=9999-12-31"],
)
def test_report_pages_with_dates_out_of_range_answer_for_viewers(viewer_client, pilot, query):
    pilot_report = viewer_client.get(f"/admin/pilots/pilot/{pilot.pk}/report/{query}")
    support_report = viewer_client.get(f"/admin/support/ticket/reports/{query}")

    assert pilot_report.status_code == 200
    assert support_report.status_code == 200
    assert "9999" not in support_report.context["end"].isoformat()


# ------------------------------------------------------------------------------
# 4. Contact data and link tokens in logs; 403s in one line
# ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "line",
    [
        'GET /q/abc/thanks/?r=ImFiYyI:1tQ2:xyz&lang=sv HTTP/1.1" 200',
        "Error handling request POST /staff/k7x2mq9v3bnh4tlek7x2mq9v3b/",
        "claim at http://localhost:8000/rewards/claim/eyJyIjoxfQ:1tQ2x:AbC-dEf_123/",
        "back from /rewards/claimed/eyJyIjoxfQ:1tQ2x:AbC-dEf_123/",
    ],
)
def test_receipts_claim_links_and_link_tokens_are_masked_in_log_lines(line):
    redacted = redact_contact_data(line)

    assert "[token]" in redacted
    for secret in (
        "ImFiYyI:1tQ2:xyz",
        "k7x2mq9v3bnh4tlek7x2mq9v3b",
        "eyJyIjoxfQ:1tQ2x:AbC-dEf_123",
    ):
        assert secret not in redacted


def _forbidden(request):
    raise PermissionDenied("no")


urlpatterns = [path("forbidden/", _forbidden), path("", include("config.urls"))]
handler403 = permission_denied


def test_a_403_logs_one_line_without_a_traceback(settings, caplog):
    settings.ROOT_URLCONF = __name__
    caplog.set_level(logging.WARNING, logger="django.request")

    response = Client().get("/forbidden/")

    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert response.status_code == 403
    assert "Traceback" not in caplog.text
    assert record.exc_info is None


# ------------------------------------------------------------------------------
# 7. Open redirect on the 404 page
# ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "address",
    [
        "/%5Cevil.example/login",
        "//evil.example/login",
        "/%2F%2Fevil.example/login",
        "/%2F/evil.example/login",
        "/%09/evil.example/login",
        "/%5C%5Cevil.example",
        "/%0D%0A/evil.example",
        "/q/%5C%5Cevil.example/",
    ],
)
def test_language_switch_never_points_off_site(client, address):
    response = client.get(address)

    switch = response.context["switch_url"]
    assert response.status_code == 404
    assert "\\" not in switch
    assert urlsplit(urljoin(f"{SITE}/some/page", switch)).netloc == "pilotops.example.se"
    assert f'href="{switch}"' in response.content.decode().replace("&amp;", "&")


def test_language_switch_keeps_a_plain_page_and_its_query(client, open_code):
    response = client.get(f"/q/{open_code.token}/?table=4")

    assert response.context["switch_url"] == f"/q/{open_code.token}/?table=4&lang=en"


# ------------------------------------------------------------------------------
# 8. /metrics and readiness in production
# ------------------------------------------------------------------------------
@pytest.fixture
def production_operator_token(settings):
    settings.IS_PRODUCTION = True
    settings.METRICS_TOKEN = "metrics-token-for-tests-0123456789"
    return settings.METRICS_TOKEN


def test_metrics_without_the_token_is_401_in_production(client, production_operator_token):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401

    scraped = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {production_operator_token}")

    assert scraped.status_code == 200
    assert b"pilotops_" in scraped.content


def test_readiness_without_the_token_says_only_ok_or_not(client, production_operator_token):
    public = client.get("/health/ready/").json()
    detailed = client.get(
        "/health/ready/", HTTP_AUTHORIZATION=f"Bearer {production_operator_token}"
    ).json()

    assert set(public) == {"status", "timestamp"}
    assert "checks" in detailed
    assert client.get("/health/").status_code == 200


def test_metrics_are_open_in_the_embedded_mode(client):
    assert client.get("/metrics").status_code == 200


# ------------------------------------------------------------------------------
# 9. Deleting tickets
# ------------------------------------------------------------------------------
def test_support_agent_cannot_delete_a_ticket_but_a_superuser_can(agent_client, admin_client):
    from support.services import ticket_create

    ticket = ticket_create(title="Printer jammed")
    delete_url = f"/admin/support/ticket/{ticket.pk}/delete/"

    refused = agent_client.post(delete_url, {"post": "yes"})
    bulk = agent_client.post(
        "/admin/support/ticket/",
        {"action": "delete_selected", "_selected_action": [ticket.pk], "post": "yes"},
    )

    assert refused.status_code == 403
    assert bulk.status_code in (200, 302)
    assert Ticket.objects.filter(pk=ticket.pk).exists()
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 302
    assert not Ticket.objects.filter(pk=ticket.pk).exists()


@pytest.mark.parametrize("group", [roles.SUPPORT_AGENTS, roles.SUPPORT_LEADS, roles.PILOT_MANAGERS])
def test_nobody_but_superusers_may_delete_tickets_incidents_feedback_or_payments(
    rf, staff_member, admin_user, group
):
    staff = rf.get("/")
    staff.user = staff_member(group)
    operator = rf.get("/")
    operator.user = admin_user

    for model in (Ticket, Incident, Feedback, Payment):
        assert not admin.site._registry[model].has_delete_permission(staff), model
    for model in (Ticket, Incident):
        assert admin.site._registry[model].has_delete_permission(operator), model


# ------------------------------------------------------------------------------
# 11. Body sizes
# ------------------------------------------------------------------------------
def test_a_64_mib_multipart_upload_is_refused_before_it_is_read(open_code):
    class Unreadable:
        def read(self, *args):
            raise AssertionError("the body was read")

        readline = read

    client = Client()
    response = client.generic(
        "POST",
        form_url(open_code),
        b"",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(64 * 1024 * 1024),
        **{"wsgi.input": Unreadable()},
    )

    assert response.status_code == 413


def test_a_multipart_form_is_415_on_public_forms(open_code):
    from django.test import Client as MultipartClient

    response = MultipartClient().post(form_url(open_code), feedback_post())

    assert response.status_code == 415
    assert Feedback.objects.count() == 0


def test_a_webhook_body_over_1_mb_is_413_as_json(client):
    response = client.post(
        "/webhooks/alertmanager/", b"[" + b"0," * 600_000 + b"0]", content_type="application/json"
    )

    assert response.status_code == 413
    assert "error" in response.json()
