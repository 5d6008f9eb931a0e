"""In Debian's chromium: a customer asks what is held and for erasure; an operator erases it."""

import re

import pytest

from core.models import Message
from pilots.models import Feedback
from privacy.links import LINK_PURPOSE, data_requests_answer_due
from privacy.models import DataRequest
from tests.conftest import good_feedback_submit, outbox_delivered

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

EMAIL = "gunnar.lind@example.se"
PASSWORD = "correct horse battery staple 42"


def test_customer_asks_for_erasure_and_an_operator_erases(
    page, live_server, open_code, django_user_model
):
    good_feedback_submit(open_code, contact_email=EMAIL, consent=True)
    django_user_model.objects.create_superuser("operator", password=PASSWORD)

    page.goto(f"{live_server.url}/privacy/?lang=en")
    page.click("text=See or erase your data")
    page.fill("input[name=contact]", EMAIL)
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Check your inbox"

    data_requests_answer_due()  # as the every-minute job does; no worker runs here
    outbox_delivered()
    body = Message.objects.get(purpose=LINK_PURPOSE).body
    page.goto(live_server.url + re.search(r"/privacy/request/[^/\s]+/", body).group(0) + "?lang=en")
    page.click("text=Show what you hold about me")
    assert open_code.business.name in page.locator(".held-data").inner_text()
    page.click("button[value=erase]")
    assert page.locator("h1").inner_text() == "We will erase it"

    data_request = DataRequest.objects.get()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/privacy/datarequest/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.click(f"a[href='/admin/privacy/datarequest/{data_request.pk}/change/']")
    page.click("text=Erase")
    page.click("input[value='Yes, erase']")
    assert "contact erased" in page.locator(".messagelist li.success").inner_text()
    assert "the keyed hash of the contact" in page.locator(".field-kept_list").inner_text()
    assert not Feedback.objects.filter(contact_email=EMAIL).exists()
    assert DataRequest.objects.get().status == DataRequest.Status.ERASED
