"""Everything Pilot Ops holds about one contact, found by its keyed hash and its spellings.

Rows that carry the contact in a field of its own are found exactly: reward
recipients and outbox messages by the keyed hash, feedback by the normalised
contact, payments and payouts through their recipient, Stripe events through
the recipient's account. Free text (comments, ticket descriptions and
timelines, the staff form's "name or phone") is searched for the common
spellings of the contact and then matched with one pattern, so
``070-123 45 67`` and ``+46701234567`` are the same number.
"""

import re
from dataclasses import dataclass, field

import phonenumbers
from django.db.models import Q, QuerySet

from core.contacts import Contact
from core.models import Message
from core.privacy import contact_hash
from pilots.models import Feedback, Payment, Payout, RewardRecipient, StripeEvent
from support.models import Incident, IncidentUpdate, Ticket, TicketEvent, TicketPhoto

SEPARATORS = r"[\s\-.()/]*"


def contact_of(value: str) -> Contact:
    """A normalised contact as stored (``core.contacts``) back into its kind."""
    return Contact(email=value) if "@" in value else Contact(phone=value)


def contact_spellings(contact: Contact) -> list[str]:
    """How the contact is likely written in free text: what the database is asked for."""
    if contact.email:
        return [contact.email]
    number = phonenumbers.parse(contact.phone)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    digits = str(number.national_number)
    return list(
        dict.fromkeys(
            [
                contact.phone,
                contact.phone[1:],
                "0" + digits,
                national,
                national.replace("-", " "),
                national.replace("-", ""),
                international,
            ]
        )
    )


def contact_pattern(contact: Contact) -> re.Pattern:
    """Matches the contact in free text, however its digits are spaced."""
    if contact.email:
        return re.compile(rf"(?<![\w.+-]){re.escape(contact.email)}(?![\w-])", re.IGNORECASE)
    number = phonenumbers.parse(contact.phone)
    country = SEPARATORS.join(str(number.country_code))
    digits = SEPARATORS.join(str(number.national_number))
    prefix = rf"(?:\+{SEPARATORS}{country}|00{SEPARATORS}{country}|{country}|0)"
    return re.compile(rf"(?<!\d){prefix}{SEPARATORS}(?:\(0\){SEPARATORS})?{digits}(?!\d)")


def _mentions(fields: tuple[str, ...], spellings: list[str]) -> Q:
    found = Q(pk__in=[])
    for name in fields:
        for spelling in spellings:
            found |= Q(**{f"{name}__icontains": spelling})
    return found


@dataclass
class Holdings:
    """The rows that hold one contact, or mention it."""

    contact: Contact
    recipients: list[RewardRecipient] = field(default_factory=list)
    feedback: list[Feedback] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    payouts: list[Payout] = field(default_factory=list)
    stripe_events: list[StripeEvent] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)
    ticket_events: list[TicketEvent] = field(default_factory=list)
    photos: list[TicketPhoto] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    incident_updates: list[IncidentUpdate] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "recipients": len(self.recipients),
            "feedback": len(self.feedback),
            "payments": len(self.payments),
            "payouts": len(self.payouts),
            "stripe_events": len(self.stripe_events),
            "tickets": len(self.tickets),
            "ticket_events": len(self.ticket_events),
            "photos": len(self.photos),
            "incidents": len(self.incidents),
            "incident_updates": len(self.incident_updates),
            "messages": len(self.messages),
        }

    @property
    def is_empty(self) -> bool:
        return not any(self.counts.values())


def _feedback(contact: Contact, recipients: QuerySet, pattern: re.Pattern) -> list[Feedback]:
    """Feedback that gave the contact, that a reward to it was for, or whose comment names it.

    Three plain queries rather than one OR across a join: each can use its own plan.
    """
    own = Q(contact_email=contact.email) if contact.email else Q(contact_phone=contact.phone)
    rewarded = Payment.objects.filter(recipient__in=recipients).values("feedback")
    rows = Feedback.objects.select_related("business")
    found = {row.pk: row for row in rows.filter(own)}
    found.update({row.pk: row for row in rows.filter(pk__in=rewarded)})
    mentioned = rows.filter(_mentions(("comment",), contact_spellings(contact)))
    found.update({row.pk: row for row in mentioned if pattern.search(row.comment)})
    return sorted(found.values(), key=lambda row: (row.submitted_at, row.pk))


def _naming(rows: QuerySet, fields: tuple[str, ...], contact: Contact, pattern: re.Pattern) -> list:
    """The rows whose ``fields`` name the contact: the database is asked for its common
    spellings, then each candidate is matched with the pattern (however it is spaced)."""
    candidates = rows.filter(_mentions(fields, contact_spellings(contact))).order_by("id")
    return [row for row in candidates if any(pattern.search(getattr(row, f)) for f in fields)]


TICKET_TEXTS = ("reporter_name", "reporter_contact", "title", "description")
INCIDENT_TEXTS = ("title", "summary", "impact", "root_cause", "corrective_actions")


def reported_by(ticket: Ticket, pattern: re.Pattern) -> bool:
    """Whether the person is the ticket's reporter (not only named in its text)."""
    return bool(pattern.search(ticket.reporter_name) or pattern.search(ticket.reporter_contact))


def contact_holdings(contact: Contact) -> Holdings:
    """Everything held about ``contact`` (normalised, as ``core.contacts`` makes it)."""
    hashed = contact_hash(contact.value)
    pattern = contact_pattern(contact)
    recipients = RewardRecipient.objects.filter(contact_hash=hashed)
    holdings = Holdings(contact=contact, recipients=list(recipients.order_by("id")))
    holdings.feedback = _feedback(contact, recipients, pattern)
    holdings.payments = list(
        Payment.objects.filter(recipient__in=recipients)
        .select_related("business", "pilot")
        .order_by("created_at", "id")
    )
    holdings.payouts = list(Payout.objects.filter(recipient__in=recipients).order_by("id"))
    accounts = [r.stripe_account_id for r in holdings.recipients if r.stripe_account_id]
    holdings.stripe_events = list(
        StripeEvent.objects.filter(
            Q(payload__data__object__id__in=accounts)
            | Q(payload__data__object__destination__in=accounts)
            | (Q(payload__data__object__email=contact.email) if contact.email else Q(pk__in=[]))
        ).order_by("received_at")
        if accounts or contact.email
        else []
    )
    holdings.tickets = _naming(Ticket.objects.all(), TICKET_TEXTS, contact, pattern)
    holdings.ticket_events = _naming(TicketEvent.objects.all(), ("body",), contact, pattern)
    # The photos the person sent with their own reports; a report that only names them
    # shows someone else's picture.
    holdings.photos = list(
        TicketPhoto.objects.filter(
            ticket__in=[t.pk for t in holdings.tickets if reported_by(t, pattern)]
        )
        .select_related("ticket")
        .defer("content")
        .order_by("created_at", "id")
    )
    # Incidents and their updates that name the contact (a guest's number in an update, say).
    holdings.incidents = _naming(Incident.objects.all(), INCIDENT_TEXTS, contact, pattern)
    holdings.incident_updates = _naming(IncidentUpdate.objects.all(), ("body",), contact, pattern)
    holdings.messages = [
        message
        for message in Message.objects.filter(
            Q(recipient_hash=hashed) | _mentions(("subject", "body"), contact_spellings(contact))
        ).order_by("created_at", "id")
        if message.recipient_hash == hashed
        or pattern.search(message.subject)
        or pattern.search(message.body)
    ]
    return holdings


def _when(value) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def holdings_document(holdings: Holdings) -> dict:
    """What is held, as the person receives it (JSON, and the PDF's content).

    Claim links live only in a message's text, which is left out: the
    export lists each message, not the way to someone's rewards.
    """
    hashed = contact_hash(holdings.contact.value)
    return {
        "contact": holdings.contact.value,
        "reward_recipients": [
            {
                "id": r.pk,
                "email": r.contact_email,
                "phone": r.contact_phone,
                "since": _when(r.created_at),
                "contact_verified_at": _when(r.contact_verified_at),
                "stripe_account": r.stripe_account_id,
                "onboarding": r.get_onboarding_display(),
                "contact_anonymised_at": _when(r.contact_anonymised_at),
            }
            for r in holdings.recipients
        ],
        "feedback": [
            {
                "id": f.pk,
                "business": f.business.name,
                "submitted_at": _when(f.submitted_at),
                "rating": f.rating,
                "categories": f.categories,
                "comment": f.comment,
                "language": f.language,
                "email": f.contact_email,
                "phone": f.contact_phone,
                "consent_at": _when(f.consent_at),
                "contact_anonymised_at": _when(f.contact_anonymised_at),
            }
            for f in holdings.feedback
        ],
        "payments": [
            {
                "id": p.pk,
                "business": p.business.name,
                "pilot": p.pilot.name,
                "amount_minor": p.amount,
                "currency": p.currency,
                "status": p.get_status_display(),
                "created_at": _when(p.created_at),
                "paid_at": _when(p.paid_at),
                "stripe_transfer": p.stripe_transfer_id,
            }
            for p in holdings.payments
        ],
        "payouts": [
            {
                "id": p.pk,
                "amount_minor": p.amount,
                "currency": p.currency,
                "status": p.get_status_display(),
                "paid_at": _when(p.paid_at),
                "stripe_transfer": p.stripe_transfer_id,
            }
            for p in holdings.payouts
        ],
        "stripe_events": [
            {"id": e.stripe_id, "type": e.type, "received_at": _when(e.received_at)}
            for e in holdings.stripe_events
        ],
        "tickets": [
            {
                "reference": t.reference,
                "title": t.title,
                "description": t.description,
                "reporter_name": t.reporter_name,
                "reporter_contact": t.reporter_contact,
                "status": t.get_status_display(),
                "created_at": _when(t.created_at),
            }
            for t in holdings.tickets
        ],
        "ticket_entries": [
            {"ticket": e.ticket_id, "created_at": _when(e.created_at), "text": e.body}
            for e in holdings.ticket_events
        ],
        "photos": [
            {
                "ticket": p.ticket.reference,
                "sent_at": _when(p.created_at),
                "size": f"{p.width}×{p.height}",
                "bytes": p.byte_size,
            }
            for p in holdings.photos
        ],
        "incident_entries": [
            {"incident": i.reference, "created_at": _when(i.created_at), "text": i.title}
            for i in holdings.incidents
        ]
        + [
            {"incident": u.incident_id, "created_at": _when(u.created_at), "text": u.body}
            for u in holdings.incident_updates
        ],
        "messages": [
            {
                "id": m.pk,
                "channel": m.get_channel_display(),
                "purpose": m.purpose,
                # A message to someone else that mentions the person: not whom it went to.
                "to": m.recipient if m.recipient_hash == hashed else "",
                "subject": m.subject,
                "status": m.get_status_display(),
                "created_at": _when(m.created_at),
                "sent_at": _when(m.sent_at),
            }
            for m in holdings.messages
        ],
    }
