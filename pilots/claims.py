"""Claim links: how the person who owns a contact reaches Stripe onboarding for their rewards.

A reward is claimed only by someone who proved they control the contact
typed into the form: the claim link is sent to it (e-mail, or SMS to the
E.164 number) through the outbox and appears nowhere else — not on the
thanks page, not in the admin in production. The link is signed, carries
the recipient and the message it was sent in, and expires after
CLAIM_LINK_MAX_AGE_DAYS. Opening it proves the contact; only then can a
Stripe account be attached to the recipient.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation

from core.models import Message
from core.money import format_money
from core.outbox import email_queue, sms_queue, text_render
from core.services import event_record
from pilots.models import Payment, RewardRecipient

CLAIM_SALT = "pilots.reward-claim"
CLAIM_PURPOSE = "reward_claim"
NOTICE_PURPOSE = "reward_notice"
# The messages a claim link may come from: it was, or may have been, delivered.
CLAIM_MESSAGE_STATUSES = (Message.Status.SENT, Message.Status.UNKNOWN)


@dataclass(frozen=True)
class Claim:
    recipient: RewardRecipient
    message: Message


def claim_token(*, recipient: RewardRecipient, message: Message) -> str:
    return signing.dumps({"r": recipient.pk, "m": message.pk}, salt=CLAIM_SALT, compress=True)


def claim_url(*, recipient: RewardRecipient, message: Message) -> str:
    token = claim_token(recipient=recipient, message=message)
    return settings.PUBLIC_BASE_URL + reverse("pilots:reward-claim", args=[token])


def claim_find(token: str) -> Claim | None:
    """The recipient and message a claim link names; None when forged, expired or not delivered."""
    try:
        signed = signing.loads(
            token, salt=CLAIM_SALT, max_age=settings.CLAIM_LINK_MAX_AGE_DAYS * 24 * 3600
        )
    except signing.BadSignature:
        return None
    if not isinstance(signed, dict) or not {"r", "m"} <= signed.keys():
        return None
    recipient = RewardRecipient.objects.filter(pk=signed["r"]).first()
    if recipient is None:
        return None
    message = Message.objects.filter(
        pk=signed["m"],
        purpose=CLAIM_PURPOSE,
        recipient_hash=recipient.contact_hash,
        status__in=CLAIM_MESSAGE_STATUSES,
        anonymised_at__isnull=True,
    ).first()
    return Claim(recipient=recipient, message=message) if message else None


@transaction.atomic
def recipient_contact_verify(*, claim: Claim) -> RewardRecipient:
    """Record that the recipient opened a link sent to their contact: the contact is theirs."""
    updated = RewardRecipient.objects.filter(
        pk=claim.recipient.pk, contact_verified_at__isnull=True
    ).update(contact_verified_at=timezone.now())
    recipient = RewardRecipient.objects.get(pk=claim.recipient.pk)
    if updated:
        event_record(
            subject=recipient,
            action="recipient_verified",
            message=f"Contact proven: the claim link of message {claim.message.pk} was opened.",
        )
    return recipient


def reward_message_queue(*, payment: Payment) -> Message | None:
    """Tell the payment's recipient, at their contact, how to get the reward.

    A recipient who can already be paid hears that the reward is on its way,
    one held for review that it is being checked (the claim link follows on
    release); anyone else gets a claim link. Whoever typed the contact sees
    the same thanks page in every case. Runs in the caller's transaction.
    """
    recipient, feedback = payment.recipient, payment.feedback
    contact = recipient.contact_email or recipient.contact_phone
    if not contact:
        return None
    held = payment.status == Payment.Status.HELD
    payable = recipient.onboarding == RewardRecipient.Onboarding.PAYABLE
    purpose = NOTICE_PURPOSE if payable or held else CLAIM_PURPOSE
    with translation.override(feedback.language):
        subject = translation.gettext("Your reward from %(name)s") % {"name": payment.business.name}
        if recipient.contact_email:
            (message,) = email_queue(to=[contact], subject=subject, body="", purpose=purpose)
        else:
            message = sms_queue(to=contact, text="", purpose=purpose)
        context = {
            "business": payment.business,
            "amount": format_money(payment.amount, payment.currency),
            "payable": payable,
            "held": held,
            "claim_url": ""
            if purpose == NOTICE_PURPOSE
            else claim_url(recipient=recipient, message=message),
            "days": settings.CLAIM_LINK_MAX_AGE_DAYS,
        }
        template = "claim_link.txt" if recipient.contact_email else "claim_link_sms.txt"
        message.body = text_render(f"pilots/email/{template}", context)
    message.save(update_fields=["body", "updated_at"])
    return message
