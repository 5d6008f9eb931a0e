"""Structured log lines with the request id, and no contact data in them."""

import io
import json
import logging

import pytest
from django.conf import settings

from core.logging import RedactContactDataFilter, RequestIdFilter, redact_contact_data
from core.request_id import bind_request_id
from tests.conftest import run_manage


def configured_handler(log_format: str) -> tuple[logging.Handler, io.StringIO]:
    """A handler built like the console handler of settings.LOGGING, writing to a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    formatter_config = dict(settings.LOGGING["formatters"][log_format])
    if "()" in formatter_config:
        from django.utils.module_loading import import_string

        factory = import_string(formatter_config.pop("()"))
        handler.setFormatter(factory(**formatter_config))
    else:
        handler.setFormatter(logging.Formatter(formatter_config["format"]))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactContactDataFilter())
    return handler, stream


@pytest.fixture
def log_output():
    """Log through a settings-shaped handler; return what it printed."""
    created = []

    def capture(log_format: str):
        handler, stream = configured_handler(log_format)
        logger = logging.getLogger(f"tests.logging.{log_format}")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        created.append((logger, handler))
        return logger, stream

    yield capture
    for logger, handler in created:
        logger.removeHandler(handler)


@pytest.mark.parametrize(
    "text",
    [
        "anna.svensson+cafe@example.co.uk",
        "070-123 45 67",
        "+46 70 123 45 67",
        "0046701234567",
        "08-123 456 78",
    ],
)
def test_redact_contact_data_masks_emails_and_phone_numbers(text):
    redacted = redact_contact_data(f"reward contact is {text}, thanks")

    assert text not in redacted
    assert redacted.startswith("reward contact is [")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"GET /q/mfrggzdfmztwq2lknnwg23tp/ HTTP/1.1" 200', '"GET /q/[token]/ HTTP/1.1" 200'),
        ("POST /staff/k7x2mq9v3bnh4tle/ 302", "POST /staff/[token]/ 302"),
    ],
)
def test_redact_contact_data_masks_printed_link_tokens(text, expected):
    assert redact_contact_data(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-23 14:15:42",
        "processed 12345678 rows",
        "payment 4f1c2e9a-0b7d-4c11-9e3a-5d2f7a8b9c01",
        "took 0.25 s",
    ],
)
def test_redact_contact_data_leaves_dates_counts_and_ids_alone(text):
    assert redact_contact_data(text) == text


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_log_lines_never_carry_contact_data(log_output, log_format):
    logger, stream = log_output(log_format)

    logger.info("claim by %s", "anna@example.se", extra={"contact": "070-123 45 67"})
    try:
        raise ValueError("bad phone +46 70 123 45 67 for kim@example.se")
    except ValueError:
        logger.exception("payout failed for %s", "kim@example.se")

    printed = stream.getvalue()
    for secret in ("anna@example.se", "kim@example.se", "070-123 45 67", "+46 70 123 45 67"):
        assert secret not in printed
    assert "[email]" in printed
    assert "[phone]" in printed
    assert "ValueError" in printed


def test_log_lines_in_json_are_one_object_per_line_with_request_id(log_output):
    logger, stream = log_output("json")
    bind_request_id("req-4711-abcdef")

    logger.warning("slow page")

    line = json.loads(stream.getvalue().strip())
    assert line["message"] == "slow page"
    assert line["level"] == "WARNING"
    assert line["request_id"] == "req-4711-abcdef"


def test_log_lines_from_a_real_process_are_redacted_json(tmp_path):
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "import logging; logging.getLogger('pilots').warning('reward for %s', 'eva@example.se')",
        env={"PILOTOPS_VAR_DIR": str(tmp_path), "LOG_FORMAT": "json"},
    )

    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "reward for [email]"
    assert line["logger"] == "pilots"
    assert "eva@example.se" not in result.stderr


def test_log_lines_through_the_configured_handler_are_redacted(caplog):
    """Goes through the real root handler, which the session-wide check reads."""
    logging.getLogger("pilots.feedback").warning(
        "reward contact %s / %s", "lisa@example.se", "+46 70 765 43 21"
    )

    assert "lisa@example.se" not in caplog.text
    assert "reward contact [email] / [phone]" in caplog.text


def test_gunicorn_error_lines_pass_the_redaction_filter(tmp_path):
    """gunicorn's own error lines ("Error handling request …") use the project's handler."""
    script = (
        "import logging, sys\n"
        "from gunicorn.config import Config\n"
        "from gunicorn.glogging import Logger\n"
        "config = Config()\n"
        "config.set('logconfig_dict', {})\n"
        "namespace = {'__file__': 'deploy/gunicorn.conf.py'}\n"
        "exec(open('deploy/gunicorn.conf.py').read(), namespace)\n"
        "for name in ('logconfig_dict', 'access_log_format', 'accesslog', 'errorlog'):\n"
        "    config.set(name, namespace[name])\n"
        "log = Logger(config)\n"
        "try:\n"
        "    raise OSError('client eva@example.se went away')\n"
        "except OSError:\n"
        "    log.exception('Error handling request POST /staff/k7x2mq9v3bnh4tlek7x2mq9v3b/')\n"
        "log.error('reported by 070-123 45 67')\n"
    )
    result = run_manage(
        "shell", "--no-imports", "-c", script, env={"PILOTOPS_VAR_DIR": str(tmp_path)}
    )

    printed = result.stdout + result.stderr
    assert result.returncode == 0, printed
    assert "Error handling request POST /staff/[token]/" in printed
    assert "gunicorn.error" in printed
    for secret in ("k7x2mq9v3bnh4tlek7x2mq9v3b", "eva@example.se", "070-123 45 67"):
        assert secret not in printed


def test_gunicorn_is_configured_with_the_project_request_limits_and_proxies(tmp_path):
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "namespace = {'__file__': 'deploy/gunicorn.conf.py'}\n"
        "exec(open('deploy/gunicorn.conf.py').read(), namespace)\n"
        "print(namespace['limit_request_line'], namespace['limit_request_fields'],"
        " namespace['limit_request_field_size'], namespace['forwarded_allow_ips'])\n"
        "print(namespace['access_log_format'])",
        env={"PILOTOPS_VAR_DIR": str(tmp_path), "TRUSTED_PROXY_NETWORKS": "10.0.0.0/24"},
    )

    limits, access_format = result.stdout.strip().splitlines()[-2:]
    assert limits == "4094 50 8190 10.0.0.0/24"
    assert (
        "%(U)s" in access_format and "%(q)s" not in access_format and "%(h)s" not in access_format
    )
