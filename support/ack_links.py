"""Acknowledgement links: signed, expiring, one-time links in every page.

A link names one page and is signed with the project's secret key (a
forged or altered link fails its signature). It works for
ACK_LINK_MAX_AGE_HOURS after its message went out, and once: the page
records when its link was used. Opening it shows what it acknowledges;
only the button on that page (a POST, with CSRF) acknowledges, so a mail
scanner or Slack's link preview fetching the address changes nothing.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from support.models import Page

ACK_SALT = "support.page-acknowledge"

VALID = "valid"
TAMPERED = "tampered"
EXPIRED = "expired"
USED = "used"


def _signer() -> signing.Signer:
    return signing.Signer(salt=ACK_SALT, sep=".")


def ack_token(page: Page) -> str:
    return _signer().sign(str(page.pk))


def ack_url(page: Page) -> str:
    return settings.PUBLIC_BASE_URL + reverse("support:page-acknowledge", args=[ack_token(page)])


@dataclass(frozen=True)
class AckLink:
    state: str  # VALID, TAMPERED, EXPIRED or USED
    page: Page | None = None


def ack_link_read(token: str, *, now: datetime | None = None) -> AckLink:
    """What the link ``token`` stands for, and whether it still works."""
    now = now or timezone.now()
    try:
        page_id = int(_signer().unsign(token))
    except (signing.BadSignature, ValueError):
        return AckLink(TAMPERED)
    page = (
        Page.objects.select_related(
            "recipient", "escalation__ticket", "escalation__incident", "escalation__acknowledged_by"
        )
        .filter(pk=page_id)
        .first()
    )
    if page is None or page.sent_at is None:
        return AckLink(TAMPERED)
    if page.link_used_at is not None:
        return AckLink(USED, page)
    if now > page.sent_at + timedelta(hours=settings.ACK_LINK_MAX_AGE_HOURS):
        return AckLink(EXPIRED, page)
    return AckLink(VALID, page)
