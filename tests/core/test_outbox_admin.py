"""The outbox in the admin: masked recipients, delivery state, resend, text only where safe."""

import pytest
from django.test import Client

from core import outbox
from core.models import Message

pytestmark = pytest.mark.django_db

CLAIM_TEXT = "Hämta: https://pilotops.example.se/rewards/claim/secret-token/"


@pytest.fixture
def failed_message():
    message = outbox.sms_queue(to="+46701234567", text=CLAIM_TEXT, purpose="reward_claim")
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.FAILED, attempts=8, last_error="the SMS gateway refused (400)"
    )
    return message


@pytest.fixture
def superuser_client(django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("operator", password="x"))
    return client


def test_outbox_list_shows_masked_recipients_state_and_error(viewer_client, failed_message):
    page = viewer_client.get("/admin/core/message/").content.decode()

    assert "+46*******67" in page
    assert "+46701234567" not in page
    assert "refused (400)" in page
    assert "secret-token" not in page


def test_outbox_text_is_shown_to_superusers_in_embedded_mode_only(
    superuser_client, viewer_client, failed_message, settings
):
    url = f"/admin/core/message/{failed_message.pk}/change/"

    assert "secret-token" in superuser_client.get(url).content.decode()
    assert "secret-token" not in viewer_client.get(url).content.decode()
    settings.IS_PRODUCTION = True
    assert "secret-token" not in superuser_client.get(url).content.decode()


def test_outbox_resend_is_for_superusers(superuser_client, manager_client, failed_message):
    data = {"action": "resend", "_selected_action": [failed_message.pk]}

    manager_client.post("/admin/core/message/", data)
    failed_message.refresh_from_db()
    assert failed_message.status == Message.Status.FAILED

    response = superuser_client.post("/admin/core/message/", data, follow=True)
    failed_message.refresh_from_db()
    assert failed_message.status == Message.Status.PENDING
    assert "queued to be sent again" in response.content.decode()
