"""Café notices: the cafés an incident takes down hear of it in their language, and when it ends.

An incident that names affected businesses and an expected downtime over
CAFE_NOTICE_MINUTES tells each affected café's contact once (an SMS to the
contact's mobile number, else an e-mail), and once more when it is resolved.
Each notice is a unique row (incident, café, kind) written with its outbox
message, so the admin saving an incident, the resolution and the every-minute
job can all ask for notices and each café still hears once. The text names
the café and the expected downtime, nothing about anyone else.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from core.contacts import phone_normalise
from core.models import Message
from core.outbox import email_queue, sms_queue, text_render
from pilots.models import Business
from support.models import CafeNotice, Incident

CAFE_NOTICE_MINUTES = 15
NOTICE_PURPOSE = "cafe_notice"


def _needs_outage_notice(incident: Incident) -> bool:
    return (
        incident.status != Incident.Status.RESOLVED
        and (incident.expected_downtime_minutes or 0) > CAFE_NOTICE_MINUTES
    )


def cafe_notices_send(*, incident: Incident, now: datetime | None = None) -> int:
    """Send the notices ``incident`` owes its cafés now; returns how many were written.

    Runs in the caller's transaction (or its own).
    """
    now = now or timezone.now()
    if _needs_outage_notice(incident):
        told = set(
            CafeNotice.objects.filter(incident=incident, kind=CafeNotice.Kind.OUTAGE).values_list(
                "business", flat=True
            )
        )
        businesses = incident.businesses.exclude(pk__in=told)
        return sum(_notice(incident, b, CafeNotice.Kind.OUTAGE, now) for b in businesses)
    if incident.status == Incident.Status.RESOLVED:
        outages = CafeNotice.objects.filter(incident=incident, kind=CafeNotice.Kind.OUTAGE)
        restored = CafeNotice.objects.filter(incident=incident, kind=CafeNotice.Kind.RESTORED)
        businesses = Business.objects.filter(pk__in=outages.values("business")).exclude(
            pk__in=restored.values("business")
        )
        return sum(_notice(incident, b, CafeNotice.Kind.RESTORED, now) for b in businesses)
    return 0


def cafe_notices_due(*, now: datetime) -> int:
    """Every notice still owed, whichever way the incident changed (the every-minute job)."""
    owing_outage = Incident.objects.exclude(status=Incident.Status.RESOLVED).filter(
        expected_downtime_minutes__gt=CAFE_NOTICE_MINUTES, businesses__isnull=False
    )
    owing_restored = Incident.objects.filter(
        status=Incident.Status.RESOLVED, cafe_notices__kind=CafeNotice.Kind.OUTAGE
    ).exclude(cafe_notices__kind=CafeNotice.Kind.RESTORED)
    owing = {
        *owing_outage.values_list("pk", flat=True),
        *owing_restored.values_list("pk", flat=True),
    }
    sent = 0
    for incident in Incident.objects.filter(pk__in=owing).order_by("pk"):
        with transaction.atomic():
            sent += cafe_notices_send(incident=incident, now=now)
    return sent


def _notice(incident: Incident, business: Business, kind: str, now: datetime) -> int:
    notice = CafeNotice(incident=incident, business=business, kind=kind, created_at=now)
    try:
        with transaction.atomic():
            notice.save()
    except IntegrityError:
        return 0  # told already, by a twin
    notice.message = _message_queue(incident, business, kind)
    notice.save(update_fields=["message"])
    return 1


def _message_queue(incident: Incident, business: Business, kind: str) -> Message | None:
    with translation.override(business.language):
        context = {
            "business": business,
            "minutes": incident.expected_downtime_minutes,
            "restored": kind == CafeNotice.Kind.RESTORED,
        }
        text = text_render("support/cafe_notice.txt", context)
        subject = (
            translation.gettext("Pilot Ops works again")
            if kind == CafeNotice.Kind.RESTORED
            else translation.gettext("Pilot Ops disruption at %(name)s") % {"name": business.name}
        )
    mobile = _mobile(business.contact_phone)
    if mobile:
        return sms_queue(to=mobile, text=text, purpose=NOTICE_PURPOSE)
    if business.contact_email:
        (message,) = email_queue(
            to=[business.contact_email], subject=subject, body=text, purpose=NOTICE_PURPOSE
        )
        return message
    return None


def _mobile(phone: str) -> str:
    if not phone.strip():
        return ""
    try:
        return phone_normalise(phone)
    except ValidationError:
        return ""
