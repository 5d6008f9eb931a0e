"""Contact data: known by a keyed hash, shown to staff only masked, never found through the admin.

A model that holds contact data names its fields in ``CONTACT_FIELDS``.
Whoever lacks the *view contact data* permission (nobody's group has it;
superusers do) cannot filter, search, sort or export by those fields, in the
model itself or through a relation: `core.admin.ContactDataAdminMixin`
enforces it for every admin that shows such a model.
"""

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.crypto import salted_hmac

CONTACT_DATA_PERMISSION = "core.view_contact_data"
LOOKUP_SEPARATOR = "__"


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


def mask_name(name: str) -> str:
    """Anna Svensson → A. S. (a redaction mark such as "[phone]" stays as it is)"""
    return " ".join(word if word.startswith("[") else f"{word[:1]}." for word in name.split())


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


def may_see_contact_data(user) -> bool:
    return bool(user and user.is_active and user.has_perm(CONTACT_DATA_PERMISSION))


def contact_fields(model: type[models.Model]) -> frozenset[str]:
    return frozenset(getattr(model, "CONTACT_FIELDS", ()))


def path_touches_contact_data(model: type[models.Model], path: str) -> bool:
    """Whether a lookup or ordering path (``recipient__contact_email__startswith``,
    ``-contact_phone``, ``^payload``) reads a contact field anywhere along its way."""
    path = path.lstrip("-^=@")
    for part in path.split(LOOKUP_SEPARATOR):
        if part in contact_fields(model):
            return True
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False  # a lookup or transform: the path ended on a field already checked
        if not field.is_relation or field.related_model is None:
            return False
        model = field.related_model
    return False
