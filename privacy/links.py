"""The self-service request link: what the privacy page sends to a contact.

Whoever types a contact on the privacy page sees the same answer whether
Pilot Ops holds anything about it or not; only the contact's owner learns
it, through a link sent there by the outbox. The link is signed, names the
request and the message it came in, expires after
DATA_REQUEST_LINK_MAX_AGE_HOURS and works once: opening it (a button, so
that mail scanners that fetch links do not use it up) shows what is held
and lets the person ask for erasure from the same browser session.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation

from core.contacts import Contact
from core.models import Message
from core.outbox import email_queue, sms_queue, text_render
from core.ratelimit import Rate, rate_limit_hit
from core.services import event_record
from privacy.models import DataRequest
from privacy.selectors import contact_of
from privacy.services import data_request_look_up, data_request_new
from support.models import Ticket
from support.services import ticket_create

LINK_SALT = "privacy.data-request-link"
LINK_PURPOSE = "data_request_link"
# After the link is opened, the person has this long to ask for erasure from that page.
ERASURE_WINDOW = timedelta(hours=1)
SESSION_KEY = "privacy_data_request"


class DataRequestRefused(Exception):
    def __init__(self, retry_after_seconds: int):
        super().__init__("too many requests")
        self.retry_after_seconds = retry_after_seconds


def link_token(*, data_request: DataRequest, message: Message) -> str:
    return signing.dumps({"d": data_request.pk, "m": message.pk}, salt=LINK_SALT)


def link_url(token: str) -> str:
    return settings.PUBLIC_BASE_URL + reverse("privacy:request-link", args=[token])


def _queue_link(data_request: DataRequest, contact: Contact) -> Message:
    with translation.override(data_request.language):
        subject = translation.gettext("What Pilot Ops holds about you")
        if contact.email:
            (message,) = email_queue(
                to=[contact.email], subject=subject, body="", purpose=LINK_PURPOSE
            )
        else:
            message = sms_queue(to=contact.phone, text="", purpose=LINK_PURPOSE)
        template = "request_link.txt" if contact.email else "request_link_sms.txt"
        message.body = text_render(
            f"privacy/email/{template}",
            {
                "url": link_url(link_token(data_request=data_request, message=message)),
                "hours": settings.DATA_REQUEST_LINK_MAX_AGE_HOURS,
            },
        )
    message.save(update_fields=["body", "updated_at"])
    return message


def _answer_after_commit(data_request: DataRequest) -> None:
    from privacy.tasks import data_request_answer

    def answer() -> None:
        # retry=False: with the broker away, the every-minute outbox job answers it instead.
        data_request_answer.apply_async((data_request.pk,), retry=False)

    transaction.on_commit(answer, robust=True)


@transaction.atomic
def data_request_ask(*, contact: Contact, language: str, client_hash: str) -> DataRequest:
    """The privacy page's request: recorded now, answered by a task.

    The request does the same work whatever the contact: one row written and
    one task queued, with nothing looked up. The task (``data_request_answer``)
    finds what is held and sends a link to the contact only then, so neither
    the page nor its timing tells whoever typed it whether the contact is known.
    """
    verdict = rate_limit_hit(
        scope="data-request",
        key=client_hash,
        rate=Rate.parse(settings.DATA_REQUEST_RATE_PER_CLIENT),
    )
    if not verdict.allowed:
        raise DataRequestRefused(verdict.retry_after_seconds)
    data_request = data_request_new(
        contact=contact, language=language, source=DataRequest.Source.SELF_SERVICE
    )
    data_request.full_clean()
    data_request.save()
    _answer_after_commit(data_request)
    return data_request


def _close_unanswered(data_request: DataRequest, now: datetime) -> None:
    DataRequest.objects.filter(pk=data_request.pk).update(
        status=DataRequest.Status.CLOSED, contact="", updated_at=now
    )


@transaction.atomic
def data_request_answer(*, data_request_id: int, now: datetime | None = None) -> str:
    """Answer one self-service request, once: a link when anything is held, else nothing.

    Past the per-contact limit nothing more is sent. A request about a contact
    nothing is held about is closed at once, without keeping the contact.
    """
    now = now or timezone.now()
    data_request = (
        DataRequest.objects.select_for_update()
        .filter(pk=data_request_id, source=DataRequest.Source.SELF_SERVICE, found_at__isnull=True)
        .exclude(contact="")
        .first()
    )
    if data_request is None:
        return ""  # answered already, or by another worker
    contact = contact_of(data_request.contact)
    per_contact = rate_limit_hit(
        scope="data-request-contact",
        key=data_request.contact_hash,
        rate=Rate.parse(settings.DATA_REQUEST_RATE_PER_CONTACT),
    )
    data_request_look_up(data_request=data_request, now=now)
    if not per_contact.allowed:
        _close_unanswered(data_request, now)
        return "too many links to this contact"
    if not any(data_request.found.values()):
        _close_unanswered(data_request, now)
        return "nothing held"
    _queue_link(data_request, contact)
    return "link sent"


def data_requests_answer_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Answer self-service requests whose task never ran (the broker was away, a worker died)."""
    waiting = DataRequest.objects.filter(
        source=DataRequest.Source.SELF_SERVICE, found_at__isnull=True
    ).exclude(contact="")
    answered = 0
    for data_request_id in list(
        waiting.order_by("created_at").values_list("pk", flat=True)[:limit]
    ):
        if data_request_answer(data_request_id=data_request_id, now=now):
            answered += 1
    return answered


@dataclass(frozen=True)
class LinkedRequest:
    data_request: DataRequest
    unused: bool


def link_find(token: str, *, now: datetime | None = None) -> LinkedRequest | None:
    """The request a link names; None when forged, expired, or its request is no longer open."""
    try:
        signed = signing.loads(
            token, salt=LINK_SALT, max_age=settings.DATA_REQUEST_LINK_MAX_AGE_HOURS * 3600
        )
    except signing.BadSignature:
        return None
    if not isinstance(signed, dict) or not {"d", "m"} <= signed.keys():
        return None
    data_request = DataRequest.objects.filter(pk=signed["d"]).first()
    if data_request is None or not data_request.contact:
        return None
    sent = Message.objects.filter(
        pk=signed["m"], purpose=LINK_PURPOSE, recipient_hash=data_request.contact_hash
    ).exists()
    if not sent:
        return None
    return LinkedRequest(data_request=data_request, unused=data_request.link_used_at is None)


@transaction.atomic
def link_use(*, data_request: DataRequest, now: datetime | None = None) -> bool:
    """Open the link, once: False when it was used already."""
    now = now or timezone.now()
    used = DataRequest.objects.filter(
        pk=data_request.pk, link_used_at__isnull=True, status=DataRequest.Status.OPEN
    ).update(
        link_used_at=now,
        identity_check="Proven: the person opened the link sent to the contact.",
        updated_at=now,
    )
    if used:
        event_record(subject=data_request, action="data_request_link_used", message="Link opened.")
    return bool(used)


@transaction.atomic
def data_request_erasure_ask(*, data_request: DataRequest, now: datetime | None = None) -> bool:
    """The person asks for erasure from the page their link opened; a ticket tells support."""
    now = now or timezone.now()
    asked = DataRequest.objects.filter(
        pk=data_request.pk,
        status=DataRequest.Status.OPEN,
        link_used_at__gte=now - ERASURE_WINDOW,
    ).update(status=DataRequest.Status.ERASURE_ASKED, erasure_asked_at=now, updated_at=now)
    if not asked:
        return False
    event_record(
        subject=data_request, action="data_request_erasure_asked", message="Erasure asked."
    )
    ticket_create(
        title=f"Erasure asked: data request {data_request.pk}",
        description="A person asked through the privacy page to erase their contact. "
        "Someone with the contact data permission erases it under Data rights.",
        source=Ticket.Source.CUSTOMER,
    )
    return True
