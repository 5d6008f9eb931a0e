"""E-mail through Django's configured backend, with every outcome sorted into three.

Only the outbox delivery task calls this; everything else queues messages.
The embedded mode's console backend prints masked recipients and no links:
the whole message is on the outbox page of the admin.
"""

import contextlib
import re
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend

from core.delivery import DeliveryNotMade, DeliveryRefused, DeliveryUnknown
from core.logging import redact_contact_data
from core.models import Message
from core.privacy import mask_recipient

LINK_PATTERN = re.compile(r"https?://\S+")


def _describe(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return f"SMTP {error.smtp_code}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(code) for code, _ in error.recipients.values()})
        return "SMTP recipient refused " + "/".join(codes)
    return type(error).__name__


def email_send(message: Message) -> str:
    """Hand ``message`` to the mail server; return its Message-ID, or raise a Delivery*."""
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        to=[message.recipient],
        headers={"Message-ID": message.reference},
    )
    for attachment in message.attachments.all():
        email.attach(attachment.filename, bytes(attachment.content), attachment.mimetype)
    connection = get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT)
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryNotMade(f"could not reach the mail server: {_describe(error)}") from error
    try:
        if not connection.send_messages([email]):
            raise DeliveryNotMade("the mail server took nothing")
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        kind = DeliveryRefused if all(code >= 500 for code in codes) else DeliveryNotMade
        raise kind(_describe(error)) from error
    except smtplib.SMTPResponseException as error:
        kind = DeliveryRefused if error.smtp_code >= 500 else DeliveryNotMade
        raise kind(_describe(error)) from error
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryUnknown(f"no answer from the mail server: {_describe(error)}") from error
    finally:
        # The message's fate is decided above; a failed QUIT changes nothing.
        with contextlib.suppress(OSError, smtplib.SMTPException):
            connection.close()
    return message.reference


class MaskedConsoleEmailBackend(ConsoleEmailBackend):
    """The embedded mode's e-mail: one short block per message, recipients masked, no links."""

    def write_message(self, message) -> None:
        recipients = ", ".join(mask_recipient(address) for address in message.recipients())
        body = LINK_PATTERN.sub("[link: read it on the admin's outbox page]", message.body)
        self.stream.write(
            f"E-mail to {recipients}: {redact_contact_data(message.subject)}\n"
            f"{redact_contact_data(body)}\n{'-' * 79}\n"
        )
