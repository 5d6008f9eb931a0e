"""Contact data: known by a keyed hash, shown to staff only in masked form."""

from django.utils.crypto import salted_hmac


def contact_hash(contact: str) -> str:
    """A keyed hash of a normalised contact (e-mail address or E.164 number).

    The same person's contact always gives the same hash, so a recipient, a
    message or a data request can be matched after the contact itself is purged.
    """
    return salted_hmac("pilotops.recipient", contact, algorithm="sha256").hexdigest()


def mask_email(email: str) -> str:
    """anna.svensson@example.se → a***@example.se"""
    if "@" not in email:
        return ""
    local, domain = email.rsplit("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str) -> str:
    """+46701234567 → +46*******67"""
    if len(phone) < 6:
        return "***"
    return phone[:3] + "*" * (len(phone) - 5) + phone[-2:]


def mask_contact(*, email: str, phone: str) -> str:
    return mask_email(email) if email else mask_phone(phone) if phone else ""


def mask_recipient(recipient: str) -> str:
    """An e-mail address or a phone number, masked."""
    return mask_email(recipient) if "@" in recipient else mask_phone(recipient)
