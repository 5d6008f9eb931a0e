"""The outbox: every e-mail, SMS and Slack post is a row first, delivered by a task afterwards.

Callers queue messages inside their own transaction (``email_queue``,
``sms_queue``, ``slack_queue``), so a message exists exactly when what caused it does, and no
request waits on a mail server or an SMS gateway. ``message_deliver`` sends
one message; ``messages_deliver_due`` (every minute, from beat) retries what
is due and settles deliveries a killed worker left half-way.

Transitions are conditional updates from the status the deliverer expects:

    pending ──▶ sending ──▶ sent
       ▲           │ ├────▶ failed    (a definitive refusal, or never sent after every try)
       └─ not made ┘ └────▶ unknown   (the answer was lost) ──▶ sending (after asking) …

An unknown SMS is settled by asking the gateway; an unknown e-mail is sent
again under its Message-ID; an unknown Slack post is posted again, since
Slack cannot be asked (see core.slack_gateway).
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.utils import make_msgid

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from core import email_gateway, slack_gateway, sms_gateway
from core.delivery import DeliveryNotMade, DeliveryRefused, DeliveryUnknown
from core.models import Message, MessageAttachment
from core.privacy import contact_hash

logger = logging.getLogger(__name__)

SENT = "sent"
FAILED = "failed"
RETRY = "retry"
UNKNOWN = "unknown"

DELIVERABLE = (Message.Status.PENDING, Message.Status.UNKNOWN)


def text_render(template_name: str, context: dict) -> str:
    """A plain-text message body, rendered without HTML escaping ("A & B", not "A &amp; B")."""
    return render_to_string(template_name, context, using="text").strip()


def _deliver_after_commit(message: Message) -> None:
    from core.tasks import message_deliver

    def send() -> None:
        # retry=False: with the broker away, the every-minute sweep delivers it instead.
        message_deliver.apply_async((message.pk,), retry=False)

    transaction.on_commit(send, robust=True)


def email_queue(
    *,
    to: Iterable[str],
    subject: str,
    body: str,
    purpose: str,
    attachments: Iterable[tuple[str, bytes, str]] = (),
) -> list[Message]:
    """One outbox row per address, sent after the caller's transaction commits."""
    attachments = list(attachments)
    messages = []
    for address in dict.fromkeys(to):
        message = Message(
            channel=Message.Channel.EMAIL,
            purpose=purpose,
            recipient=address,
            recipient_hash=contact_hash(address),
            subject=subject[:255],
            body=body,
            reference=make_msgid(domain="pilotops"),
        )
        message.full_clean()
        message.save()
        MessageAttachment.objects.bulk_create(
            MessageAttachment(message=message, filename=name, content=content, mimetype=mimetype)
            for name, content, mimetype in attachments
        )
        _deliver_after_commit(message)
        messages.append(message)
    return messages


def _queue(*, channel: str, recipient: str, body: str, purpose: str) -> Message:
    message = Message(
        channel=channel,
        purpose=purpose,
        recipient=recipient,
        recipient_hash=contact_hash(recipient),
        body=body,
    )
    message.full_clean()
    message.save()
    _deliver_after_commit(message)
    return message


def sms_queue(*, to: str, text: str, purpose: str) -> Message:
    """An SMS to an E.164 number, sent after the caller's transaction commits."""
    return _queue(channel=Message.Channel.SMS, recipient=to, body=text, purpose=purpose)


SLACK_CHANNEL_RECIPIENT = "channel"


def slack_queue(*, text: str, purpose: str, member: str = "") -> Message:
    """A Slack post to the on-call channel, mentioning ``member`` (a Slack member id) if given."""
    return _queue(
        channel=Message.Channel.SLACK,
        recipient=member or SLACK_CHANNEL_RECIPIENT,
        body=text,
        purpose=purpose,
    )


def message_backoff(attempts: int) -> timedelta:
    """BASE, 2·BASE, 4·BASE … after each unsuccessful attempt, at most an hour."""
    base = settings.MESSAGE_RETRY_BASE_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def _settle(message: Message, outcome: str, **fields) -> str:
    """Record the outcome of the attempt this worker holds (status *sending*)."""
    Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(**fields)
    return outcome


def message_deliver(*, message_id: int, now: datetime | None = None) -> str:
    """Send one due message, once, whoever else tries at the same time. Returns the outcome."""
    now = now or timezone.now()
    message = Message.objects.filter(pk=message_id).first()
    if message is None or message.status not in DELIVERABLE:
        return ""
    if message.next_attempt_at and message.next_attempt_at > now:
        return ""
    was_unknown = message.status == Message.Status.UNKNOWN
    claimed = Message.objects.filter(
        pk=message.pk, status=message.status, attempts=message.attempts
    ).update(status=Message.Status.SENDING, attempts=F("attempts") + 1, last_attempt_at=now)
    if not claimed:
        return ""  # another worker took it
    message.attempts += 1
    try:
        if was_unknown and message.channel == Message.Channel.SMS:
            found = sms_gateway.sms_find(
                to=message.recipient, text=message.body, since=message.created_at
            )
            if found:
                return _settle(
                    message,
                    SENT,
                    status=Message.Status.SENT,
                    sent_at=now,
                    reference=found,
                    last_error="",
                    next_attempt_at=None,
                )
        reference = _send(message)
    except DeliveryRefused as error:
        logger.warning("message %s refused: %s", message.pk, error)
        return _settle(
            message,
            FAILED,
            status=Message.Status.FAILED,
            last_error=str(error),
            next_attempt_at=None,
        )
    except DeliveryNotMade as error:
        if message.attempts >= settings.MESSAGE_MAX_ATTEMPTS:
            return _settle(
                message,
                FAILED,
                status=Message.Status.FAILED,
                next_attempt_at=None,
                last_error=f"never sent after {message.attempts} tries: {error}",
            )
        return _settle(
            message,
            RETRY,
            status=Message.Status.PENDING,
            last_error=str(error),
            next_attempt_at=now + message_backoff(message.attempts),
        )
    except DeliveryUnknown as error:
        # Exhausted: stays unknown, with no next attempt, for a person to settle.
        exhausted = message.attempts >= settings.MESSAGE_MAX_ATTEMPTS
        return _settle(
            message,
            UNKNOWN,
            status=Message.Status.UNKNOWN,
            last_error=str(error),
            next_attempt_at=None if exhausted else now + message_backoff(message.attempts),
        )
    return _settle(
        message,
        SENT,
        status=Message.Status.SENT,
        sent_at=timezone.now(),
        reference=reference,
        last_error="",
        next_attempt_at=None,
    )


def _send(message: Message) -> str:
    if message.channel == Message.Channel.SMS:
        return sms_gateway.sms_send(to=message.recipient, text=message.body)
    if message.channel == Message.Channel.SLACK:
        return slack_gateway.slack_post(text=message.body)
    return email_gateway.email_send(message)


def messages_deliver_due(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Settle deliveries a killed worker left *sending*, then deliver whatever is due."""
    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=settings.MESSAGE_SENDING_STUCK_SECONDS)
    abandoned = Message.objects.filter(
        status=Message.Status.SENDING, last_attempt_at__lt=stuck_before
    ).update(
        status=Message.Status.UNKNOWN,
        next_attempt_at=now,
        last_error="the worker sending it stopped before an answer came",
    )
    due = (
        Message.objects.filter(status__in=DELIVERABLE)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    counts = {"abandoned deliveries settled": abandoned, SENT: 0, RETRY: 0, UNKNOWN: 0, FAILED: 0}
    for message_id in list(due):
        outcome = message_deliver(message_id=message_id, now=now)
        if outcome:
            counts[outcome] += 1
    return counts


@transaction.atomic
def message_resend(*, message: Message) -> Message:
    """Send a failed (or an exhausted, unknown) message again, now."""
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.status not in (Message.Status.FAILED, Message.Status.UNKNOWN):
        raise ValueError(
            f"Message {message.pk} is {message.get_status_display().lower()}; "
            "only failed or unsettled messages are sent again."
        )
    if message.anonymised_at:
        raise ValueError(f"Message {message.pk} was purged; there is nothing left to send.")
    Message.objects.filter(pk=message.pk, status=message.status).update(
        status=Message.Status.UNKNOWN
        if message.status == Message.Status.UNKNOWN
        else Message.Status.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
    )
    _deliver_after_commit(message)
    message.refresh_from_db()
    return message


def messages_purge(messages: QuerySet[Message], *, reason: str, now: datetime) -> int:
    """Purge the recipient, text and attachments of ``messages`` (the hash stays).

    One still unsent is given up: it fails with ``reason``. One a worker is
    sending this moment is left alone (and not counted); purging it again
    later finishes the job.
    """
    messages = messages.filter(anonymised_at__isnull=True)
    messages.filter(status__in=DELIVERABLE).update(
        status=Message.Status.FAILED, next_attempt_at=None, last_error=reason
    )
    settled = messages.exclude(status=Message.Status.SENDING)
    MessageAttachment.objects.filter(message__in=settled).delete()
    return settled.update(recipient="", subject="", body="", anonymised_at=now)


def messages_anonymise(*, older_than: datetime) -> int:
    """Purge the recipient and text of messages past the retention period (the hash stays)."""
    return messages_purge(
        Message.objects.filter(created_at__lt=older_than),
        reason="purged after the retention period before it could be sent",
        now=timezone.now(),
    )
