"""Acknowledging from a page: the link's one use acknowledges its ticket or incident."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from support import incidents, services
from support.ack_links import VALID, AckLink, ack_link_read
from support.models import Page


@transaction.atomic
def page_acknowledge(*, token: str, now: datetime | None = None) -> AckLink:
    """Use the link ``token``: acknowledge what its page was about, as the person paged.

    Answers the link as it was (tampered, expired, used) when it does not
    work; used once, it never works again, even when someone else had
    acknowledged first (then it changes nothing more).
    """
    now = now or timezone.now()
    link = ack_link_read(token, now=now)
    if link.state != VALID:
        return link
    if not Page.objects.filter(pk=link.page.pk, link_used_at__isnull=True).update(link_used_at=now):
        return ack_link_read(token, now=now)  # a twin click used it a moment ago
    escalation = link.page.escalation
    person = link.page.recipient
    if escalation.ticket_id:
        services.ticket_acknowledge(ticket=escalation.ticket, actor=person, now=now)
    else:
        incidents.incident_acknowledge(incident=escalation.incident, actor=person, now=now)
    return AckLink(
        VALID, Page.objects.select_related("escalation__acknowledged_by").get(pk=link.page.pk)
    )
