"""Log record filters: the request id on every line, and no secrets in output.

Contact data (e-mail addresses, phone numbers) and the tokens of printed
links (``/q/<token>/``, ``/staff/<token>/``) and of acknowledgement links
(``/ack/<token>/``) must never reach a log line,
whoever wrote the message (access logs included): the filter rewrites the
message, its arguments, extra string fields and the formatted traceback
before any formatter sees them.
"""

import logging
import re

from core.request_id import current_request_id

EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# International (+46 70…, 0046…) or national (070-…, 08 …) numbers of 8 to 15
# digits with optional spaces or dashes. Plain counts and ids do not start with
# 0 or +, and dates carry their dashes after four digits, so they are left alone.
PHONE_PATTERN = re.compile(r"(?<![\w+])(?:\+|00|0)\d(?:[ -]?\d){6,13}(?![\w-])")
# The secret segment of a printed link, wherever it appears in a line.
LINK_TOKEN_PATTERN = re.compile(r"(/(?:q|staff|ack)/)[^/\s?#\"']{8,}")
EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
TOKEN_MASK = r"\1[token]"  # noqa: S105 - a placeholder, not a secret

# Attributes every LogRecord has, and the request id (plain by construction);
# anything else was passed through `extra=` and is redacted.
_NOT_REDACTED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


def redact_contact_data(text: str) -> str:
    """Replace link tokens, e-mail addresses and phone numbers in ``text`` with placeholders."""
    text = LINK_TOKEN_PATTERN.sub(TOKEN_MASK, text)
    return PHONE_PATTERN.sub(PHONE_MASK, EMAIL_PATTERN.sub(EMAIL_MASK, text))


class RedactContactDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_contact_data(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact_contact_data(record.exc_text)
        for name, value in vars(record).items():
            if name not in _NOT_REDACTED and isinstance(value, str):
                setattr(record, name, redact_contact_data(value))
        return True


class RequestIdFilter(logging.Filter):
    """Put the current request's id (or "-" outside a request) on the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True
