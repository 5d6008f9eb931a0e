"""Slack posts through the outbox against a local webhook fake: every outcome sorted in three."""

import pytest

from core.models import Message
from core.outbox import message_deliver, slack_queue

pytestmark = pytest.mark.django_db


def post(text="<@U0ANNA> *P0 PO-00001* new: payments failing") -> Message:
    return slack_queue(text=text, purpose="page", member="U0ANNA")


def test_a_post_is_sent_once(slack_fake):
    message = post()
    assert message_deliver(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.recipient == "U0ANNA"
    assert [p["text"] for p in slack_fake.posted()] == [message.body]
    assert slack_fake.posted()[0]["unfurl_links"] is False


def test_a_refused_post_fails(slack_fake, settings):
    settings.SLACK_WEBHOOK_URL = slack_fake.url.replace("fake-webhook-secret", "revoked")
    message = post()
    assert message_deliver(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert "refused" in message.last_error and slack_fake.posted() == []


def test_a_rate_limited_or_unreachable_post_is_tried_again(slack_fake, settings):
    slack_fake.fail_next(429)
    message = post()
    assert message_deliver(message_id=message.pk) == "retry"
    settings.SLACK_WEBHOOK_URL = "http://127.0.0.1:9/services/x"  # nothing listens
    message.refresh_from_db()
    assert message_deliver(message_id=message.pk, now=message.next_attempt_at) == "retry"


def test_a_lost_answer_is_unknown_and_posted_again_at_least_once(slack_fake):
    slack_fake.lose_answer_next(500)
    message = post()
    assert message_deliver(message_id=message.pk) == "unknown"
    message.refresh_from_db()
    assert message.status == Message.Status.UNKNOWN
    assert message_deliver(message_id=message.pk, now=message.next_attempt_at) == "sent"
    # Slack cannot be asked: the post went twice, each naming the same page.
    assert [p["text"] for p in slack_fake.posted()] == [message.body, message.body]


def test_without_a_webhook_the_post_stays_in_the_outbox(settings):
    settings.SLACK_WEBHOOK_URL = ""
    message = post()
    assert message_deliver(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert message.reference == "console"
