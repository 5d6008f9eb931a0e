"""Slack through an incoming webhook, behind one module.

``POST {SLACK_WEBHOOK_URL}`` with ``{"text": …}`` posts one message to the
channel the webhook belongs to; Slack answers ``ok`` (200), a refusal
(400 ``invalid_payload``, 403 ``action_prohibited``, 404 ``channel_not_found``
or ``no_service``, 410 ``channel_is_archived``), 429 to slow down, or a 5xx.

Slack cannot be asked whether a post arrived: a webhook post has no id and
no way to list what was posted. So an answer lost after the request went out
(a read timeout, a broken connection, a 5xx) is *unknown*, and the outbox
posts it again on its next attempt (at least once, never silently dropped):
a page seen twice costs a glance, a page lost costs the outage. Every page
text carries its page number, so a repeated post reads as the same page.

With no webhook configured (the embedded mode) nothing is posted: the console
gets one line and the admin's outbox page shows the text.
"""

import logging

from django.conf import settings

from core.delivery import DeliveryUnknown, http_delivery_call

logger = logging.getLogger(__name__)

CONSOLE_REFERENCE = "console"
POSTED_REFERENCE = "posted"


def is_configured() -> bool:
    return bool(settings.SLACK_WEBHOOK_URL)


def slack_escape(text: str) -> str:
    """Text shown as written: no <!channel>, <@mention> or <link> can be slipped in."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_post(*, text: str) -> str:
    """Post ``text`` (Slack mrkdwn, already escaped where it quotes anyone) to the channel."""
    if not is_configured():
        logger.info("Slack message (%d characters) kept in the outbox: no webhook", len(text))
        return CONSOLE_REFERENCE
    response = http_delivery_call(
        "POST",
        settings.SLACK_WEBHOOK_URL,
        service="Slack",
        timeout=(settings.SLACK_CONNECT_TIMEOUT_SECONDS, settings.SLACK_READ_TIMEOUT_SECONDS),
        json={"text": text, "unfurl_links": False, "unfurl_media": False},
    )
    if response.text.strip() != "ok":
        raise DeliveryUnknown("Slack answered without its ok")
    return POSTED_REFERENCE
