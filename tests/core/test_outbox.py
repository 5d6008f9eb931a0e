"""The outbox: messages are rows first, delivered afterwards, each outcome settled honestly."""

import io
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from core import outbox
from core.email_gateway import MaskedConsoleEmailBackend
from core.models import Message
from tests.smtp_servers import dropping_server, free_port, silent_server, smtp_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp_settings(settings):
    """Deliver through Django's SMTP backend to a server on 127.0.0.1."""

    def point_at(port: int) -> None:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 1

    settings.MESSAGE_RETRY_BASE_SECONDS = 60
    return point_at


def queue_one(**changes) -> Message:
    fields = {"to": ["lena@pilotops.example"], "subject": "Hej", "body": "Text", "purpose": "test"}
    (message,) = outbox.email_queue(**{**fields, **changes})
    return message


def later(minutes: int):
    return timezone.now() + timedelta(minutes=minutes)


# --- queueing -------------------------------------------------------------------
def test_email_queue_writes_one_row_per_address_and_sends_nothing_yet():
    messages = outbox.email_queue(
        to=["a@example.se", "b@example.se", "a@example.se"],
        subject="Rapport",
        body="Siffror",
        purpose="report",
        attachments=[("report.pdf", b"%PDF-1.7", "application/pdf")],
    )

    assert [m.recipient for m in messages] == ["a@example.se", "b@example.se"]
    assert {m.status for m in messages} == {Message.Status.PENDING}
    assert messages[0].reference.startswith("<") and messages[0].reference.endswith("@pilotops>")
    assert messages[0].attachments.get().filename == "report.pdf"
    assert mail.outbox == []


def test_email_queue_rolls_back_with_the_transaction_that_caused_it():
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        queue_one()
        raise RuntimeError("the change that caused the e-mail failed")

    assert not Message.objects.exists()


def test_message_is_delivered_after_commit_by_the_task(django_capture_on_commit_callbacks):
    from config.celery_app import app

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            message = queue_one()
    finally:
        app.conf.task_always_eager = False

    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert [m.to for m in mail.outbox] == [["lena@pilotops.example"]]


# --- delivery through a real SMTP server ------------------------------------------
def test_delivery_to_smtp_keeps_the_message_id_and_the_attachment(smtp_settings):
    with smtp_server() as (port, mailbox):
        smtp_settings(port)
        message = queue_one(attachments=[("r.pdf", b"%PDF-1.7 body", "application/pdf")])

        assert outbox.message_deliver(message_id=message.pk) == outbox.SENT

    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.sent_at is not None
    (received,) = mailbox.messages
    assert received["Message-ID"] == message.reference
    assert received["To"] == "lena@pilotops.example"
    assert [part.get_filename() for part in received.walk() if part.get_filename()] == ["r.pdf"]


def test_smtp_refusing_connections_retries_later_and_delivers_once_it_is_back(smtp_settings):
    port = free_port()  # nothing listens here yet
    smtp_settings(port)
    message = queue_one()

    assert outbox.message_deliver(message_id=message.pk) == outbox.RETRY

    message.refresh_from_db()
    assert message.status == Message.Status.PENDING
    assert message.next_attempt_at > timezone.now()
    assert "could not reach the mail server" in message.last_error
    assert outbox.message_deliver(message_id=message.pk) == "", "not due before its backoff"
    with smtp_server(port) as (_, mailbox):
        counts = outbox.messages_deliver_due(now=later(2))
    assert counts[outbox.SENT] == 1
    assert len(mailbox.messages) == 1


def test_smtp_never_answering_is_a_retry_after_the_timeout_not_a_hang(smtp_settings):
    with silent_server() as (port, _):
        smtp_settings(port)
        message = queue_one()
        started = time.monotonic()

        outcome = outbox.message_deliver(message_id=message.pk)

    assert time.monotonic() - started < 5
    assert outcome == outbox.RETRY
    message.refresh_from_db()
    assert message.status == Message.Status.PENDING


def test_smtp_hanging_up_after_the_message_is_unknown_and_resent_with_the_same_message_id(
    smtp_settings,
):
    with dropping_server() as (port, received):
        smtp_settings(port)
        message = queue_one()

        assert outbox.message_deliver(message_id=message.pk) == outbox.UNKNOWN

    message.refresh_from_db()
    assert message.status == Message.Status.UNKNOWN, "a lost answer is not a failure"
    assert len(received) == 1
    with smtp_server() as (port, mailbox):
        smtp_settings(port)
        outbox.messages_deliver_due(now=later(2))
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert mailbox.messages[0]["Message-ID"] == message.reference, (
        "the same Message-ID lets the recipient's mail system drop the duplicate"
    )
    assert message.reference.encode() in received[0]


@pytest.mark.parametrize(
    ("reply", "outcome", "status"),
    [
        ("550 5.1.1 No such user", outbox.FAILED, Message.Status.FAILED),
        ("450 4.2.1 Mailbox busy", outbox.RETRY, Message.Status.PENDING),
    ],
)
def test_smtp_refusal_fails_for_good_only_when_it_is_permanent(
    smtp_settings, reply, outcome, status
):
    with smtp_server() as (port, mailbox):
        mailbox.refuse_recipients_with = reply
        smtp_settings(port)
        message = queue_one()

        assert outbox.message_deliver(message_id=message.pk) == outcome

    message.refresh_from_db()
    assert message.status == status
    assert reply[:3] in message.last_error


def test_never_sent_after_every_try_fails_saying_so(smtp_settings, settings):
    settings.MESSAGE_MAX_ATTEMPTS = 3
    smtp_settings(free_port())
    message = queue_one()

    for minutes in (0, 30, 90):
        outbox.message_deliver(message_id=message.pk, now=later(minutes))

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.FAILED, 3)
    assert message.last_error.startswith("never sent after 3 tries")


def test_delivery_left_half_way_by_a_killed_worker_is_settled_by_the_sweep(settings):
    message = queue_one()
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.SENDING, attempts=1, last_attempt_at=timezone.now()
    )

    assert outbox.messages_deliver_due()["abandoned deliveries settled"] == 0
    counts = outbox.messages_deliver_due(now=later(10))

    assert counts["abandoned deliveries settled"] == 1
    assert counts[outbox.SENT] == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.SENT, 2)
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_deliverers_at_once_send_one_message(smtp_settings):
    import threading

    with smtp_server() as (port, mailbox):
        smtp_settings(port)
        message = queue_one()
        outcomes = []
        barrier = threading.Barrier(2)

        def deliver():
            from django.db import connection

            barrier.wait()
            outcomes.append(outbox.message_deliver(message_id=message.pk))
            connection.close()

        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sorted(outcomes) == ["", outbox.SENT]
    assert len(mailbox.messages) == 1


def test_resend_sends_a_failed_message_again():
    message = queue_one()
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.FAILED, attempts=8, last_error="SMTP 550"
    )

    outbox.message_resend(message=message)
    outbox.messages_deliver_due()

    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.SENT, 1)
    with pytest.raises(ValueError, match="only failed or unsettled"):
        outbox.message_resend(message=message)


def test_retention_purges_recipient_and_text_and_gives_up_unsent_ones():
    sent, unsent = queue_one(), queue_one(to=["b@example.se"])
    outbox.message_deliver(message_id=sent.pk)
    Message.objects.update(created_at=timezone.now() - timedelta(days=100))

    purged = outbox.messages_anonymise(older_than=timezone.now() - timedelta(days=90))

    assert purged == 2
    sent.refresh_from_db()
    unsent.refresh_from_db()
    assert (sent.recipient, sent.body, sent.status) == ("", "", Message.Status.SENT)
    assert sent.recipient_hash, "the hash stays for data requests and fraud rules"
    assert unsent.status == Message.Status.FAILED
    assert "retention" in unsent.last_error


# --- the console backend of the embedded mode --------------------------------------
def test_console_backend_prints_masked_recipients_and_no_links():
    from django.core.mail import EmailMessage

    stream = io.StringIO()
    backend = MaskedConsoleEmailBackend(stream=stream)
    email = EmailMessage(
        subject="Your reward",
        body="Claim it: https://pilotops.example.se/rewards/claim/abc.def/ within 30 days.",
        to=["anna.svensson@example.se"],
    )

    backend.send_messages([email])

    printed = stream.getvalue()
    assert "a***@example.se" in printed
    assert "anna.svensson" not in printed
    assert "/rewards/claim/" not in printed and "abc.def" not in printed
    assert "admin's outbox page" in printed


# --- SMS ----------------------------------------------------------------------------
def sms(to="+46701234567", text="Hej! https://x.example/rewards/claim/t/") -> Message:
    return outbox.sms_queue(to=to, text=text, purpose="test")


def test_sms_is_sent_through_the_gateway(sms_fake):
    message = sms()

    assert outbox.message_deliver(message_id=message.pk) == outbox.SENT

    (text,) = sms_fake.sent()
    message.refresh_from_db()
    assert (text["to"], text["message"]) == ("+46701234567", message.body)
    assert message.reference == text["id"]


@pytest.mark.parametrize("fault", ["answer lost after sending", "gateway error before sending"])
def test_sms_unknown_outcome_is_settled_by_asking_and_sent_exactly_once(sms_fake, fault):
    if fault.startswith("answer lost"):
        sms_fake.lose_answer_next()
    else:
        sms_fake.fail_next(503)
    message = sms()

    assert outbox.message_deliver(message_id=message.pk) == outbox.UNKNOWN
    outbox.messages_deliver_due(now=later(2))

    message.refresh_from_db()
    (text,) = sms_fake.sent()
    assert message.status == Message.Status.SENT
    assert message.reference == text["id"]


def test_sms_refused_by_the_gateway_fails(sms_fake):
    message = sms(to="46701234567")  # not E.164: the gateway refuses it

    assert outbox.message_deliver(message_id=message.pk) == outbox.FAILED
    message.refresh_from_db()
    assert "400" in message.last_error


def test_sms_without_a_gateway_stays_readable_in_the_outbox(settings):
    settings.SMS_GATEWAY_URL = ""
    message = sms()

    assert outbox.message_deliver(message_id=message.pk) == outbox.SENT
    message.refresh_from_db()
    assert message.reference == "console"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("server", ["refusing", "silent"])
def test_submission_answers_at_once_whatever_the_mail_server_does(
    client, open_code, smtp_settings, server
):
    from tests.conftest import feedback_post

    with silent_server() as (silent_port, _):
        smtp_settings(silent_port if server == "silent" else free_port())
        started = time.monotonic()
        response = client.post(f"/q/{open_code.token}/", feedback_post(), follow=True)
        elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert "Vi har mejlat detaljerna" in response.content.decode()
    assert elapsed < 1.0, f"the thanks page took {elapsed:.2f} s"
    (message,) = Message.objects.all()
    assert message.status == Message.Status.PENDING
    with smtp_server() as (port, mailbox):
        smtp_settings(port)
        outbox.messages_deliver_due(now=later(5))
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert [m["To"] for m in mailbox.messages] == ["anna@example.se"]
