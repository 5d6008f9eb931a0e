"""What a page says and where it goes: one person, one channel, one acknowledgement link.

A page names the ticket or incident by reference, level and title (with any
e-mail address or phone number in the title masked), says what happened and
carries the link that acknowledges it. It never carries a reporter's or a
customer's contact, a description or a comment. Slack text is escaped, so a
title cannot mention the whole channel.
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.i18n import staff_language
from core.logging import redact_contact_data
from core.models import Message
from core.outbox import email_queue, slack_queue, sms_queue
from core.slack_gateway import slack_escape
from support.ack_links import ack_url
from support.models import Escalation, Incident, Page, Responder, Ticket

PAGE_PURPOSE = "page"
DIGEST_PURPOSE = "page_digest"
TITLE_LENGTH_IN_SMS = 60


@dataclass(frozen=True)
class Subject:
    """The ticket or incident an escalation is about, as pages name it."""

    ticket: Ticket | None = None
    incident: Incident | None = None

    @classmethod
    def of(cls, escalation: Escalation) -> "Subject":
        return cls(ticket=escalation.ticket, incident=escalation.incident)

    @property
    def row(self) -> Ticket | Incident:
        return self.ticket or self.incident

    @property
    def reference(self) -> str:
        return self.row.reference

    @property
    def level(self) -> str:
        return self.ticket.priority if self.ticket else self.incident.severity

    @property
    def title(self) -> str:
        return redact_contact_data(self.row.title)

    @property
    def is_open(self) -> bool:
        if self.ticket:
            return self.ticket.is_open
        return self.incident.status != Incident.Status.RESOLVED

    @property
    def owner(self) -> User | None:
        return self.ticket.assignee if self.ticket else self.incident.commander

    def filter(self) -> dict:
        """Keyword arguments selecting this subject's escalations."""
        return {"ticket": self.ticket} if self.ticket else {"incident": self.incident}

    def admin_path(self) -> str:
        name = "support_ticket_change" if self.ticket else "support_incident_change"
        return reverse(f"admin:{name}", args=[self.row.pk])


# What a page tells of, in the words of the active language. Never a colon: a page
# reads "<priority> <reference> <what happened>: <title>" and is parsed so.
SLA_MARK_WORDS = {
    "response warning": _("response warning"),
    "response breach": _("response breach"),
    "resolution warning": _("resolution warning"),
    "resolution breach": _("resolution breach"),
}
TRIGGER_WORDS = {
    "opened": _("new"),
    "priority": _("priority raised"),
    "severity": _("severity raised"),
    "firing": _("alert firing again"),
    "escalated": _("escalated"),
}


def what_happened(key: str, trigger: str) -> str:
    """Words for what a page tells of: its SLA mark, else what started the escalation."""
    if key.startswith("sla:"):
        _sla, metric, level = key.split(":")
        mark = f"{metric} {level}"
        return str(SLA_MARK_WORDS.get(mark, mark))
    kind = trigger.split(":")[0]
    if kind == "sla":
        mark = " ".join(trigger.split(":")[1:])
        return gettext("SLA %(mark)s") % {"mark": SLA_MARK_WORDS.get(mark, mark)}
    return str(TRIGGER_WORDS.get(kind, kind))


def _contact(person: User, channel: str) -> str:
    """The address ``person`` is paged at on ``channel``; "" when there is none."""
    responder = Responder.objects.filter(user=person).first()
    if channel == Message.Channel.EMAIL:
        return person.email
    if channel == Message.Channel.SMS:
        return responder.mobile if responder else ""
    return responder.slack_member_id if responder else ""


def page_write(
    *,
    escalation: Escalation,
    key: str,
    person: User,
    channel: str,
    now: datetime,
    held_until: datetime | None = None,
) -> Page | None:
    """Page ``person`` on ``channel`` for step ``key``, once; None when a twin did already.

    A Slack page goes to the channel and mentions the person when their
    member id is known. A page held for quiet hours waits for the digest.
    """
    contact = _contact(person, channel)
    reachable = bool(contact) or channel == Message.Channel.SLACK
    status = Page.Status.QUEUED
    if not reachable:
        status = Page.Status.UNREACHABLE
    elif held_until is not None:
        status = Page.Status.HELD
    page = Page(
        escalation=escalation,
        key=key,
        recipient=person,
        channel=channel,
        status=status,
        held_until=held_until if status == Page.Status.HELD else None,
        created_at=now,
    )
    try:
        with transaction.atomic():
            page.save()
    except IntegrityError:
        return None  # this step already paged this person on this channel
    if status == Page.Status.QUEUED:
        page.message = _message_queue(page, contact, now)
        page.sent_at = now
        page.save(update_fields=["message", "sent_at"])
    return page


def _message_queue(page: Page, contact: str, now: datetime) -> Message:
    """The page in its recipient's language (their staff profile's; English by default)."""
    with translation.override(staff_language(page.recipient)):
        return _message_queue_in_language(page, contact, now)


def _message_queue_in_language(page: Page, contact: str, now: datetime) -> Message:
    subject = Subject.of(page.escalation)
    news = what_happened(page.key, page.escalation.trigger)
    link = ack_url(page)
    if page.channel == Message.Channel.SMS:
        title = subject.title[:TITLE_LENGTH_IN_SMS]
        text = gettext(
            "Pilot Ops %(level)s %(reference)s %(news)s: %(title)s. Acknowledge: %(link)s"
        ) % {
            "level": subject.level,
            "reference": subject.reference,
            "news": news,
            "title": title,
            "link": link,
        }
        return sms_queue(to=contact, text=text, purpose=PAGE_PURPOSE)
    if page.channel == Message.Channel.SLACK:
        who = f"<@{contact}>" if contact else slack_escape(page.recipient.get_username())
        text = (
            f"{who} *{subject.level} {subject.reference}* {news}: {slack_escape(subject.title)}\n"
            f"<{link}|{gettext('Acknowledge')}> " + gettext("(page %(page)s)") % {"page": page.pk}
        )
        return slack_queue(text=text, purpose=PAGE_PURPOSE, member=contact)
    (message,) = email_queue(
        to=[contact],
        # The reference is in the text: a subject line reads the same for every ticket
        # of one kind, so a mail client threads a burst of pages together.
        subject=f"Pilot Ops [{subject.level}] {news}: {subject.title}",
        body=(
            f"{subject.level} {subject.reference} {news}: {subject.title}\n\n"
            + gettext("Acknowledge (stops the paging): %(link)s") % {"link": link}
            + "\n"
            + gettext("Open it in the admin: %(url)s") % {"url": _admin_url(subject)}
            + "\n"
        ),
        purpose=PAGE_PURPOSE,
    )
    return message


def _admin_url(subject: Subject) -> str:
    return settings.PUBLIC_BASE_URL + subject.admin_path()


def digest_queue(*, person: User, pages: list[Page], now: datetime) -> Message:
    """One e-mail telling ``person`` everything held for them in quiet hours, each with its link.

    Written in the person's language (their staff profile's; English by default).
    """
    with translation.override(staff_language(person)):
        return _digest_queue_in_language(person=person, pages=pages, now=now)


def _digest_queue_in_language(*, person: User, pages: list[Page], now: datetime) -> Message:
    lines = []
    for page in pages:
        subject = Subject.of(page.escalation)
        news = what_happened(page.key, page.escalation.trigger)
        held = page.created_at.astimezone(ZoneInfo(page.escalation.policy.calendar.timezone))
        held_words = date_format(held, gettext("D d M H:i"))
        lines.append(
            f"- {subject.level} {subject.reference} {news} ({held_words}): {subject.title}\n  "
            + gettext("Acknowledge: %(link)s") % {"link": ack_url(page)}
            + "\n  "
            + gettext("Open it in the admin: %(url)s") % {"url": _admin_url(subject)}
        )
    (message,) = email_queue(
        to=[person.email],
        subject=ngettext(
            "Pilot Ops: %(count)d item from quiet hours",
            "Pilot Ops: %(count)d items from quiet hours",
            len(pages),
        )
        % {"count": len(pages)},
        body=gettext("Held outside business hours:") + "\n\n" + "\n".join(lines) + "\n",
        purpose=DIGEST_PURPOSE,
    )
    return message
