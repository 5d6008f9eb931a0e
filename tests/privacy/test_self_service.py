"""The privacy page's self-service request: the same answer for everyone, a link that works once."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import Message
from pilots.models import Feedback
from privacy.links import LINK_PURPOSE, data_request_answer, data_requests_answer_due
from privacy.models import DataRequest
from support.models import Ticket
from tests.conftest import Client, good_feedback_submit, outbox_delivered

pytestmark = pytest.mark.django_db

EMAIL = "gunnar.lind@example.se"
UNKNOWN = "nobody.here@example.se"
FORM = "/privacy/request/"


@pytest.fixture
def known(open_code):
    return good_feedback_submit(open_code, contact_email=EMAIL, consent=True)


def ask(client, contact: str, **extra):
    return client.post(FORM, {"contact": contact, "website": ""}, **extra)


def answered() -> int:
    """Answer the waiting requests as the every-minute job does (tests run no broker tasks)."""
    return data_requests_answer_due()


def link_path() -> str:
    answered()
    outbox_delivered()
    message = Message.objects.get(purpose=LINK_PURPOSE)
    return re.search(r"/privacy/request/[^/\s]+/", message.body).group(0)


def sent_with_queries(client, contact: str):
    with CaptureQueriesContext(connection) as captured:
        response = ask(client, contact)
    savepoint = re.compile(r'"s\d+_x\d+"')
    shapes = [savepoint.sub("sp", query["sql"]).split(" WHERE")[0] for query in captured]
    return response, [shape.split(" VALUES")[0] for shape in shapes]


def test_self_service_answers_known_and_unknown_contacts_the_same(known, client):
    to_known, known_work = sent_with_queries(client, " Gunnar.Lind@Example.se ")
    to_unknown, unknown_work = sent_with_queries(Client(), UNKNOWN)

    assert to_known.status_code == to_unknown.status_code == 200
    assert to_known.content == to_unknown.content
    assert "Titta i din inkorg" in to_known.content.decode()
    assert EMAIL not in to_known.content.decode()
    # The same work for both: nothing is looked up or sent while the visitor waits.
    assert known_work == unknown_work
    assert not Message.objects.filter(purpose=LINK_PURPOSE).exists()
    # Only the owner of a known contact hears more, at the contact itself.
    assert answered() == 2
    (message,) = Message.objects.filter(purpose=LINK_PURPOSE)
    assert message.recipient == EMAIL
    assert not Message.objects.filter(recipient=UNKNOWN).exists()
    unknown_request = DataRequest.objects.get(source="self_service", status="closed")
    assert unknown_request.contact == "" and unknown_request.found["feedback"] == 0


def test_self_service_request_is_answered_once(known, client):
    ask(client, EMAIL)
    data_request = DataRequest.objects.get()

    outcomes = [data_request_answer(data_request_id=data_request.pk) for _ in range(2)]

    assert outcomes == ["link sent", ""]
    assert answered() == 0
    assert Message.objects.filter(purpose=LINK_PURPOSE).count() == 1


def test_self_service_link_shows_what_is_held_once(known, client):
    ask(client, EMAIL)
    path = link_path()

    opened = client.get(path)
    opened_again = client.get(path)  # a mail scanner fetching it does not use it up
    shown = client.post(path, {"action": "show"})
    shown_again = client.post(path, {"action": "show"})
    after = Client().get(path)

    assert opened.status_code == opened_again.status_code == 200
    assert shown.status_code == 200
    page = shown.content.decode()
    assert known.business.name in page and EMAIL in page
    assert shown_again.status_code == after.status_code == 410
    data_request = DataRequest.objects.get(source="self_service")
    assert data_request.link_used_at is not None
    assert "opened the link" in data_request.identity_check


def test_self_service_link_lets_its_session_ask_for_erasure(known, client):
    ask(client, EMAIL)
    path = link_path()
    client.post(path, {"action": "show"})

    stranger = Client().post(path, {"action": "erase"})
    asked = client.post(path, {"action": "erase"})

    assert stranger.status_code == 410
    assert asked.status_code == 200
    data_request = DataRequest.objects.get(source="self_service")
    assert data_request.status == DataRequest.Status.ERASURE_ASKED
    ticket = Ticket.objects.get(source=Ticket.Source.CUSTOMER)
    assert str(data_request.pk) in ticket.title and EMAIL not in ticket.description
    # Erasing is the operator's, from the admin: nothing is gone yet.
    assert Feedback.objects.filter(contact_email=EMAIL).exists()


def test_self_service_link_expires(known, client, settings):
    ask(client, EMAIL)
    path = link_path()

    later = timezone.now() + timedelta(hours=settings.DATA_REQUEST_LINK_MAX_AGE_HOURS, minutes=1)
    with time_machine.travel(later):
        expired = client.get(path)
        expired_post = client.post(path, {"action": "show"})

    assert expired.status_code == expired_post.status_code == 410
    assert DataRequest.objects.get(source="self_service").link_used_at is None


def test_self_service_forged_links_are_gone(known, client):
    ask(client, EMAIL)
    path = link_path()

    assert client.get(path[:-3] + "xx/").status_code == 410
    assert client.get("/privacy/request/%00/").status_code in (404, 410)


def test_self_service_is_rate_limited_per_client_the_same_for_everyone(known, settings):
    settings.DATA_REQUEST_RATE_PER_CLIENT = "2/h"
    client = Client()

    answers = [ask(client, contact).status_code for contact in (EMAIL, UNKNOWN, EMAIL, UNKNOWN)]

    assert answers == [200, 200, 429, 429]


def test_self_service_sends_at_most_so_many_links_to_one_contact(known, settings):
    settings.DATA_REQUEST_RATE_PER_CONTACT = "2/d"

    answers = [ask(Client(), EMAIL).status_code for _ in range(4)]
    answered()

    assert answers == [200, 200, 200, 200]
    assert Message.objects.filter(purpose=LINK_PURPOSE).count() == 2


@pytest.mark.parametrize(
    "contact", ["", "not a contact", "\x00<script>", "x" * 300, "08-123 45 67"]
)
def test_self_service_bad_input_is_a_readable_400(client, contact):
    response = ask(client, contact)

    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert not DataRequest.objects.exists()


def test_self_service_in_english(known, client):
    form = client.get(FORM + "?lang=en")
    sent = client.post(FORM + "?lang=en", {"contact": EMAIL, "website": ""})
    answered()

    assert "See or erase your data" in form.content.decode()
    assert "Check your inbox" in sent.content.decode()
    message = Message.objects.get(purpose=LINK_PURPOSE)
    outbox_delivered()
    message.refresh_from_db()
    assert message.subject == "What Pilot Ops holds about you"


def test_self_service_honeypot_keeps_nothing(known, client):
    response = client.post(FORM, {"contact": EMAIL, "website": "http://spam.example"})

    assert response.status_code == 200
    assert not DataRequest.objects.exists()


def test_self_service_needs_csrf(known):
    strict = Client(enforce_csrf_checks=True)

    response = strict.post(FORM, {"contact": EMAIL, "website": ""})

    assert response.status_code == 403
    assert not DataRequest.objects.exists()


def test_privacy_page_links_to_the_request_form(client):
    page = client.get("/privacy/?lang=sv")

    assert 'href="/privacy/request/?lang=sv"' in page.content.decode()


def test_self_service_requests_a_lost_task_missed_are_answered_by_the_outbox_job(known, client):
    from django.core import mail

    from core import jobs

    ask(client, EMAIL)

    summary = jobs.outbox_delivery(timezone.now())

    assert summary.counts["data requests answered"] == 1
    assert Message.objects.get(purpose=LINK_PURPOSE).status == Message.Status.SENT
    (link,) = [email for email in mail.outbox if "/privacy/request/" in email.body]
    assert link.to == [EMAIL]
