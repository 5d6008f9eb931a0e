"""People's data rights: a request is opened, what is held is exported, and erased on request.

Erasing anonymises every row that holds the contact and redacts it from free
text. Nothing is deleted and no amount, status or score changes, so KPIs,
payments and bookkeeping figures stay what they were. A Stripe account
reference is kept where money was or may still be moved to it: bookkeeping
law (Bokföringslagen 7 kap. 2 §) keeps the records of a payment for seven
years, and the record says so.
"""

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.contacts import Contact, contact_normalise
from core.models import Message
from core.outbox import messages_purge
from core.privacy import contact_hash, mask_recipient
from core.services import event_record
from pilots.models import Feedback, Payment, Payout, RewardRecipient, StripeEvent
from privacy.models import DataRequest
from privacy.selectors import (
    INCIDENT_TEXTS,
    Holdings,
    contact_holdings,
    contact_of,
    contact_pattern,
    reported_by,
)
from support.models import Incident, Ticket, TicketPhoto

REDACTED = "[removed]"
BOOKKEEPING_REASON = (
    "Bokföringslagen (1999:1078) 7 kap. 2 §: the records of a payment are kept for seven "
    "years, so the Stripe account the reward went to stays with the payment."
)
IN_FLIGHT_REASON = (
    "A reward to this account is still being paid; the reference is needed until Stripe "
    "settles it, then for the bookkeeping record."
)
HASH_REASON = (
    "A keyed hash of the contact, which cannot be turned back into it: it keeps the fraud "
    "rules and this record able to recognise the same contact again."
)
SENDING_REASON = "A message was being sent at this moment; erase again in a few minutes."
# Payments whose money has moved, or may still move, to the recipient's account.
MONEY_MOVED = (Payment.Status.PAID, Payment.Status.PROCESSING)
MONEY_MAY_MOVE = (Payment.Status.PENDING, Payment.Status.HELD)


class DataRequestError(ValidationError):
    pass


def _found(data_request: DataRequest, holdings: Holdings, now: datetime) -> None:
    data_request.found = holdings.counts
    data_request.found_at = now


def data_request_new(
    *, contact: Contact, language: str, source: str, identity_check: str = "", actor=None
) -> DataRequest:
    """An unsaved request about a normalised ``contact``."""
    return DataRequest(
        contact=contact.value,
        contact_hash=contact_hash(contact.value),
        contact_masked=mask_recipient(contact.value),
        language=language,
        identity_check=identity_check,
        source=source,
        opened_by=actor if actor is not None and actor.is_authenticated else None,
    )


def data_request_look_up(*, data_request: DataRequest, actor=None, now: datetime) -> None:
    """Find what is held about the request's contact, note it on the request, and save it."""
    _found(data_request, contact_holdings(contact_of(data_request.contact)), now)
    data_request.full_clean()
    data_request.save()
    event_record(
        subject=data_request,
        action="data_request_opened",
        message=f"Opened ({data_request.get_source_display().lower()}); found "
        + _summary(data_request.found)
        + ".",
        actor=actor,
    )


@transaction.atomic
def data_request_open(
    *,
    contact: str,
    language: str = DataRequest.Language.SWEDISH,
    identity_check: str = "",
    source: str = DataRequest.Source.ADMIN,
    actor=None,
    now: datetime | None = None,
) -> DataRequest:
    """Record a person's request about ``contact`` (as typed) and what is held about it."""
    normalised = contact_normalise(contact)
    if not normalised:
        raise DataRequestError(_("Enter the person's e-mail address or mobile number."))
    data_request = data_request_new(
        contact=normalised,
        language=language,
        source=source,
        identity_check=identity_check,
        actor=actor,
    )
    data_request_look_up(data_request=data_request, actor=actor, now=now or timezone.now())
    return data_request


def _summary(counts: dict[str, int]) -> str:
    held = [f"{count} {kind.replace('_', ' ')}" for kind, count in counts.items() if count]
    return ", ".join(held) or "nothing"


def data_request_holdings(*, data_request: DataRequest) -> Holdings:
    """What is held now about the request's contact; refused once the contact is gone."""
    if not data_request.contact:
        raise DataRequestError(
            _("Data request %(id)s no longer holds the contact; open a new one."),
            params={"id": data_request.pk},
        )
    return contact_holdings(contact_of(data_request.contact))


@transaction.atomic
def data_request_exported(*, data_request: DataRequest, file_format: str, actor=None) -> Holdings:
    """Look up what is held, for an export, and note on the record that it was exported."""
    holdings = data_request_holdings(data_request=data_request)
    _found(data_request, holdings, timezone.now())
    data_request.save(update_fields=["found", "found_at", "updated_at"])
    event_record(
        subject=data_request,
        action="data_request_exported",
        message=f"Exported as {file_format}: " + _summary(data_request.found) + ".",
        actor=actor,
    )
    return holdings


def _redact(text: str, pattern: re.Pattern, max_length: int | None = None) -> str:
    redacted = pattern.sub(REDACTED, text)
    return redacted[:max_length] if max_length else redacted


def _redact_rows(rows, fields: tuple[str, ...], pattern: re.Pattern) -> int:
    """Redact the contact from ``fields`` of each row; the number of rows changed."""
    changed = 0
    for row in rows:
        update = {}
        for name in fields:
            value = getattr(row, name)
            limit = type(row)._meta.get_field(name).max_length
            if value and pattern.search(value):
                update[name] = _redact(value, pattern, limit)
        if update:
            type(row).objects.filter(pk=row.pk).update(**update)
            changed += 1
    return changed


def _erase_recipients(holdings: Holdings, now: datetime, done: dict, kept: list) -> None:
    for recipient in holdings.recipients:
        RewardRecipient.objects.filter(pk=recipient.pk).update(
            contact_email="", contact_phone="", contact_anonymised_at=now
        )
        if not recipient.stripe_account_id:
            continue
        statuses = set(recipient.payments.values_list("status", flat=True))
        unsettled = recipient.payouts.filter(status__in=Payout.UNSETTLED).exists()
        if statuses & set(MONEY_MAY_MOVE) or unsettled:
            reason = IN_FLIGHT_REASON
        elif statuses & set(MONEY_MOVED) or recipient.payouts.exists():
            reason = BOOKKEEPING_REASON
        else:
            RewardRecipient.objects.filter(pk=recipient.pk).update(
                stripe_account_id="", onboarding=RewardRecipient.Onboarding.NOT_STARTED
            )
            done["Stripe account references removed"] += 1
            continue
        kept.append(
            {
                "what": f"Stripe account reference of reward recipient {recipient.pk}",
                "reason": reason,
            }
        )
    done["reward recipients anonymised"] = len(holdings.recipients)
    if holdings.recipients:
        kept.append({"what": "the keyed hash of the contact", "reason": HASH_REASON})
    if holdings.payments:
        kept.append(
            {
                "what": f"{len(holdings.payments)} payment(s): amounts, dates and statuses",
                "reason": BOOKKEEPING_REASON,
            }
        )


def _erase_feedback(holdings: Holdings, pattern: re.Pattern, now: datetime, done: dict) -> None:
    ids = [f.pk for f in holdings.feedback]
    done["feedback contacts anonymised"] = (
        Feedback.objects.filter(pk__in=ids)
        .filter(~Q(contact_email="") | ~Q(contact_phone=""))
        .update(contact_email="", contact_phone="", contact_anonymised_at=now)
    )
    done["feedback comments redacted"] = _redact_rows(holdings.feedback, ("comment",), pattern)


def _erase_tickets(holdings: Holdings, pattern: re.Pattern, now: datetime, done: dict) -> None:
    reported = [t.pk for t in holdings.tickets if reported_by(t, pattern)]
    # The reporter's name goes with their contact: the person who reported is the one asking.
    done["ticket reporters anonymised"] = Ticket.objects.filter(pk__in=reported).update(
        reporter_name="", reporter_contact="", contact_anonymised_at=now
    )
    done["ticket texts redacted"] = _redact_rows(
        Ticket.objects.filter(pk__in=[t.pk for t in holdings.tickets]),
        ("title", "description"),
        pattern,
    )
    done["ticket timeline entries redacted"] = _redact_rows(
        holdings.ticket_events, ("body",), pattern
    )
    done["photos deleted"] = TicketPhoto.objects.filter(
        pk__in=[photo.pk for photo in holdings.photos]
    ).delete()[0]


def _erase_incidents(holdings: Holdings, pattern: re.Pattern, done: dict) -> None:
    done["incident texts redacted"] = _redact_rows(
        Incident.objects.filter(pk__in=[i.pk for i in holdings.incidents]), INCIDENT_TEXTS, pattern
    )
    done["incident updates redacted"] = _redact_rows(holdings.incident_updates, ("body",), pattern)


def _erase_messages(
    holdings: Holdings,
    hashed: str,
    pattern: re.Pattern,
    now: datetime,
    done: dict[str, int],
    kept: list[dict[str, str]],
) -> None:
    own = Message.objects.filter(pk__in=[m.pk for m in holdings.messages], recipient_hash=hashed)
    done["messages purged"] = messages_purge(
        own, reason="erased at the person's request before it could be sent", now=now
    )
    if own.filter(anonymised_at__isnull=True).exists():
        kept.append({"what": "a message being sent", "reason": SENDING_REASON})
    done["messages to others redacted"] = _redact_rows(
        [m for m in holdings.messages if m.recipient_hash != hashed], ("subject", "body"), pattern
    )


@transaction.atomic
def data_request_erase(
    *, data_request: DataRequest, actor=None, now: datetime | None = None
) -> DataRequest:
    """Erase the contact everywhere it is held; record what was done and what was kept, and why."""
    now = now or timezone.now()
    data_request = DataRequest.objects.select_for_update().get(pk=data_request.pk)
    if data_request.status == DataRequest.Status.ERASED:
        raise DataRequestError(
            _("Data request %(id)s was erased already."), params={"id": data_request.pk}
        )
    if not data_request.identity_check.strip():
        raise DataRequestError(_("Note how the person's identity was checked before erasing."))
    holdings = data_request_holdings(data_request=data_request)
    contact: Contact = holdings.contact
    pattern = contact_pattern(contact)
    done: dict[str, int] = {"Stripe account references removed": 0}
    kept: list[dict[str, str]] = []
    _erase_recipients(holdings, now, done, kept)
    _erase_feedback(holdings, pattern, now, done)
    done["Stripe event payloads purged"] = (
        StripeEvent.objects.filter(pk__in=[e.pk for e in holdings.stripe_events])
        .exclude(payload={})
        .update(payload={})
    )
    _erase_tickets(holdings, pattern, now, done)
    _erase_incidents(holdings, pattern, done)
    _erase_messages(holdings, data_request.contact_hash, pattern, now, done, kept)
    # Every request about the same contact lets it go too.
    DataRequest.objects.filter(contact_hash=data_request.contact_hash).exclude(
        pk=data_request.pk
    ).update(contact="")
    _found(data_request, holdings, now)
    data_request.contact = ""
    data_request.status = DataRequest.Status.ERASED
    data_request.erased_at = now
    data_request.erased_by = actor if actor is not None and actor.is_authenticated else None
    data_request.done = done
    data_request.kept = kept
    data_request.full_clean()
    data_request.save()
    event_record(
        subject=data_request,
        action="data_request_erased",
        message="Erased: " + _summary(done) + ".",
        actor=actor,
    )
    return data_request


@transaction.atomic
def data_request_close(*, data_request: DataRequest, actor=None) -> DataRequest:
    """Answer a request without erasing (the person only wanted to see): the contact goes."""
    updated = DataRequest.objects.filter(
        pk=data_request.pk,
        status__in=[DataRequest.Status.OPEN, DataRequest.Status.ERASURE_ASKED],
    ).update(status=DataRequest.Status.CLOSED, contact="", updated_at=timezone.now())
    if not updated:
        raise DataRequestError(
            _("Data request %(id)s is not open."), params={"id": data_request.pk}
        )
    data_request.refresh_from_db()
    event_record(subject=data_request, action="data_request_closed", message="Closed.", actor=actor)
    return data_request


def data_requests_purge(*, now: datetime) -> int:
    """Let go of the contact of requests nobody finished: open past the retention period, or a
    self-service request whose link expired unopened. The record and its hash stay; an
    erasure the person asked for waits for the operator."""
    cutoff = now - timedelta(days=settings.RETENTION_DAYS)
    link_expired = now - timedelta(hours=settings.DATA_REQUEST_LINK_MAX_AGE_HOURS)
    unfinished = DataRequest.objects.exclude(contact="").filter(
        Q(created_at__lt=cutoff, status=DataRequest.Status.OPEN)
        | Q(
            source=DataRequest.Source.SELF_SERVICE,
            link_used_at__isnull=True,
            created_at__lt=link_expired,
        )
    )
    return unfinished.update(contact="", status=DataRequest.Status.CLOSED, updated_at=now)
