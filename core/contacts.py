"""Customers' contacts, normalised before anything stores, hashes or validates them.

An e-mail address is NFC-normalised and lower-cased, then validated as the
model will validate it; a phone number is parsed with ``phonenumbers``
(Sweden as the default region, any script's digits), must be a mobile
number, and is kept in E.164 (``+46701234567``). So ``+46701234567``,
``0046701234567``, ``46701234567`` and ``070-123 45 67`` are one contact.
"""

import unicodedata
from dataclasses import dataclass

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

DEFAULT_REGION = "SE"
EMAIL_MAX_LENGTH = 254
MOBILE_TYPES = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
)


@dataclass(frozen=True)
class Contact:
    email: str = ""
    phone: str = ""

    def __bool__(self) -> bool:
        return bool(self.email or self.phone)

    @property
    def value(self) -> str:
        return self.email or self.phone


def email_normalise(raw: str) -> str:
    """The address as stored and hashed; ValidationError when it is not one."""
    email = unicodedata.normalize("NFC", raw.strip()).lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(_("Enter a valid e-mail address."), code="email") from None
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError(_("Enter a valid e-mail address."), code="email")
    return email


def _parsed(raw: str) -> phonenumbers.PhoneNumber:
    text = unicodedata.normalize("NFKC", raw.strip())
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        # 46701234567: an international number typed without its "+".
        try:
            number = phonenumbers.parse("+" + text, None)
        except phonenumbers.NumberParseException:
            number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Enter a valid mobile number."), code="phone")
    return number


def phone_normalise(raw: str) -> str:
    """The mobile number in E.164; ValidationError for anything else."""
    if len(raw) > 40:
        raise ValidationError(_("Enter a valid mobile number."), code="phone")
    number = _parsed(raw)
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise ValidationError(
            _("That is not a mobile number: we send the reward link by text message."),
            code="not_mobile",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def contact_normalise(raw: str) -> Contact:
    """An e-mail address or a mobile number, normalised; an empty contact for blank input."""
    if not raw.strip():
        return Contact()
    if "@" in raw:
        return Contact(email=email_normalise(raw))
    return Contact(phone=phone_normalise(raw))
