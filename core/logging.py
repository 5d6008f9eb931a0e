"""Log record filters and the one logging configuration of every process.

Contact data (e-mail addresses, phone numbers), the tokens of printed links
(``/q/<token>/``, ``/staff/<token>/``), of acknowledgement links
(``/ack/<token>/``), signed claim links and the thanks page's receipt must
never reach a log line, whoever wrote the message (gunicorn's error and
access logs, Celery, Django): the filter rewrites the
message, its arguments, extra string fields and the formatted traceback
before any formatter sees them. ``logging_config`` builds the configuration
that Django's settings, the Celery worker and gunicorn (``logconfig_dict``)
all use, so no process has a handler without the filter.

This module imports nothing from Django: gunicorn's master loads it before
any application code.
"""

import logging
import re

from core.request_id import current_request_id

EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# International (+46 70…, 0046…) or national (070-…, 08 …) numbers of 8 to 15
# digits with optional spaces or dashes. Plain counts and ids do not start with
# 0 or +, and dates carry their dashes after four digits, so they are left alone.
PHONE_PATTERN = re.compile(r"(?<![\w+])(?:\+|00|0)\d(?:[ -]?\d){6,13}(?![\w-])")
# The secret segment of a printed or sent link, wherever it appears in a line.
LINK_TOKEN_PATTERN = re.compile(r"(/(?:q|staff|ack|rewards/claim|rewards/claimed)/)[^/\s?#\"']{8,}")
# The thanks page's signed receipt (?r=…).
RECEIPT_PATTERN = re.compile(r"([?&]r=)[^&\s#\"']+")
EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
TOKEN_MASK = r"\1[token]"  # noqa: S105 - a placeholder, not a secret

# Attributes every LogRecord has, and the request id (plain by construction);
# anything else was passed through `extra=` and is redacted.
_NOT_REDACTED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


def redact_contact_data(text: str) -> str:
    """Replace link tokens, receipts, e-mail addresses and phone numbers with placeholders."""
    text = RECEIPT_PATTERN.sub(TOKEN_MASK, LINK_TOKEN_PATTERN.sub(TOKEN_MASK, text))
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


class ClientErrorOneLineFilter(logging.Filter):
    """A 4xx answer is the client's mistake: one line, no traceback.

    Django logs a refused permission or an unknown address with the exception
    that caused it; a scanner would fill the log with stack traces.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True


class RequestIdFilter(logging.Filter):
    """Put the current request's id (or "-" outside a request) on the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


def logging_config(*, level: str, log_format: str) -> dict:
    """The ``dictConfig`` of every Pilot Ops process: one console handler, every filter.

    Django's and gunicorn's own loggers print through it too (they propagate
    to the root handler and have none of their own).
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "core.logging.RequestIdFilter"},
            "client_errors_one_line": {"()": "core.logging.ClientErrorOneLineFilter"},
            "redact_contacts": {"()": "core.logging.RedactContactDataFilter"},
        },
        "formatters": {
            "text": {
                "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
            },
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_id", "client_errors_one_line", "redact_contacts"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Their own handlers would print unfiltered lines: send all to root.
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.server": {"handlers": [], "level": level, "propagate": True},
            # A client's 4xx is one line before any handler (the test log capture too) sees it.
            "django.request": {
                "handlers": [],
                "level": level,
                "propagate": True,
                "filters": ["client_errors_one_line"],
            },
            "django.db.backends": {"level": "INFO"},
            "gunicorn.error": {"handlers": [], "level": level, "propagate": True},
            "gunicorn.access": {"handlers": [], "level": level, "propagate": True},
            # django-axes announces itself at INFO in every process; failures are WARNINGs.
            "axes": {"level": "WARNING"},
            # PDF rendering narrates every page and font subset at INFO.
            "weasyprint": {"level": "WARNING"},
            "fontTools": {"level": "WARNING"},
        },
    }
