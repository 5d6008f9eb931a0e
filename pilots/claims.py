"""Claim links: how a customer reaches Stripe onboarding to receive rewards.

A claim link carries the recipient's id, signed and valid for
CLAIM_LINK_MAX_AGE_DAYS. It is shown on the thanks page and, for an e-mail
contact, sent by e-mail.
"""

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from pilots.models import Payment, RewardRecipient

CLAIM_SALT = "pilots.reward-claim"


def claim_token(recipient: RewardRecipient) -> str:
    return signing.dumps(recipient.pk, salt=CLAIM_SALT)


def claim_recipient(token: str) -> RewardRecipient | None:
    """The recipient a claim link names, or None when forged or expired."""
    try:
        recipient_id = signing.loads(
            token, salt=CLAIM_SALT, max_age=settings.CLAIM_LINK_MAX_AGE_DAYS * 24 * 3600
        )
    except signing.BadSignature:
        return None
    return RewardRecipient.objects.filter(pk=recipient_id).first()


def claim_url(recipient: RewardRecipient) -> str:
    return settings.PUBLIC_BASE_URL + reverse("pilots:reward-claim", args=[claim_token(recipient)])


def claim_link_send(*, payment_id: int) -> None:
    """E-mail the claim link to the recipient of a new payment, in the feedback's language."""
    payment = Payment.objects.select_related("recipient", "feedback", "business").get(pk=payment_id)
    recipient = payment.recipient
    if not recipient.contact_email:
        return
    with translation.override(payment.feedback.language):
        context = {
            "business": payment.business,
            "claim_url": claim_url(recipient),
            "days": settings.CLAIM_LINK_MAX_AGE_DAYS,
        }
        send_mail(
            subject=translation.gettext("Your reward from %(name)s")
            % {"name": payment.business.name},
            message=render_to_string("pilots/email/claim_link.txt", context),
            from_email=None,
            recipient_list=[recipient.contact_email],
        )
