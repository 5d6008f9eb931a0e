"""The café staff link: report in seconds, see public replies, never internal notes."""

import pytest

from support import services
from support.models import StaffLink, Ticket
from tests.conftest import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(business):
    return services.staff_link_issue(business=business)


def url(link) -> str:
    return f"/staff/{link.token}/"


@pytest.mark.parametrize(
    ("category", "priority"),
    [
        ("outage", "P1"),
        ("reward", "P2"),
        ("qr_code", "P2"),
        ("feedback_form", "P2"),
        ("other", "P3"),
    ],
)
def test_staff_report_opens_a_ticket_with_the_categorys_priority(client, link, category, priority):
    response = client.post(
        url(link), {"category": category, "description": "Table 4", "reporter": "Sara"}
    )

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert ticket.reference in response["Location"]
    assert (ticket.priority, ticket.category, ticket.source) == (priority, category, "staff_link")
    assert ticket.business == link.business
    page = client.get(response["Location"]).content.decode()
    assert ticket.reference in page


def test_staff_page_shows_public_replies_but_never_internal_notes(client, link, admin_user):
    ticket = services.staff_report(
        link=link, category="reward", description="", reporter="", client_hash="a" * 64
    )
    services.ticket_reply(ticket=ticket, body="We sent it again.", actor=admin_user)
    services.ticket_add_note(
        ticket=ticket, body="Customer is a regular; SECRET-NOTE", actor=admin_user
    )

    page = client.get(url(link)).content.decode()

    assert "We sent it again." in page
    assert "SECRET-NOTE" not in page


def test_staff_link_revoked_is_410(client, link):
    services.staff_link_issue(business=link.business)  # a new card replaces the old one

    response = client.get(url(link))

    link.refresh_from_db()
    assert link.status == StaffLink.Status.REVOKED
    assert response.status_code == 410


def test_staff_link_unknown_is_404(client):
    assert client.get("/staff/" + "a" * 28 + "/").status_code == 404


def test_staff_report_needs_a_category(client, link):
    response = client.post(url(link), {"description": "?"})

    assert response.status_code == 400
    assert Ticket.objects.count() == 0


def test_staff_report_is_rate_limited(client, link, settings):
    settings.STAFF_REPORT_RATE = "2/h"

    statuses = [client.post(url(link), {"category": "other"}).status_code for _ in range(3)]

    assert statuses == [302, 302, 429]


def test_staff_report_needs_csrf(link):
    response = Client(enforce_csrf_checks=True).post(url(link), {"category": "other"})

    assert response.status_code == 403
    assert Ticket.objects.count() == 0


def test_staff_report_honeypot_answers_like_a_success_and_keeps_nothing(client, link):
    response = client.post(url(link), {"category": "other", "website": "http://spam.example"})

    assert response.status_code == 302
    assert Ticket.objects.count() == 0


def test_staff_link_takes_a_limited_number_of_reports_from_many_clients(client, link, settings):
    settings.STAFF_REPORT_RATE_PER_LINK = "30/h"
    answers = [
        client.post(url(link), {"category": "other"}, REMOTE_ADDR=f"10.7.0.{n}").status_code
        for n in range(1, 41)
    ]

    refused = client.post(
        url(link), {"category": "other"}, REMOTE_ADDR="10.7.1.1", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert answers.count(302) == 30
    assert answers.count(429) == 10
    assert Ticket.objects.count() == 30
    assert refused.status_code == 429
    assert "Slow down a little" in refused.content.decode()
    assert 0 < int(refused["Retry-After"]) <= 3601


def test_staff_link_limits_each_client_too(client, link, settings):
    settings.STAFF_REPORT_RATE = "3/h"
    answers = [client.post(url(link), {"category": "other"}).status_code for _ in range(5)]

    other = client.post(url(link), {"category": "other"}, REMOTE_ADDR="10.8.0.1")

    assert answers == [302, 302, 302, 429, 429]
    assert other.status_code == 302
