"""SMS through an HTTP gateway in 46elks' shape, behind one module.

``POST {SMS_GATEWAY_URL}/sms`` (from, to, message) sends one text and
answers its id; ``GET {SMS_GATEWAY_URL}/sms?to=…&start=…`` lists what was
sent, which is how a lost answer is settled: by asking whether the text went.
With no gateway configured (the embedded mode), texts are not sent anywhere:
the console gets a masked line and the admin's outbox page shows the text.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings

from core.delivery import DeliveryUnknown, http_delivery_call
from core.privacy import mask_phone

logger = logging.getLogger(__name__)

CONSOLE_REFERENCE = "console"


def is_configured() -> bool:
    return bool(settings.SMS_GATEWAY_URL)


def _timeouts() -> tuple[float, float]:
    return (settings.SMS_CONNECT_TIMEOUT_SECONDS, settings.SMS_READ_TIMEOUT_SECONDS)


def _call(method: str, path: str, **kwargs) -> dict:
    """One request to the gateway; its outcome sorted into the three Delivery* kinds."""
    response = http_delivery_call(
        method,
        settings.SMS_GATEWAY_URL.rstrip("/") + path,
        service="the SMS gateway",
        timeout=_timeouts(),
        auth=(settings.SMS_GATEWAY_USERNAME, settings.SMS_GATEWAY_PASSWORD),
        **kwargs,
    )
    try:
        return response.json()
    except ValueError as error:
        raise DeliveryUnknown("the SMS gateway's answer was not JSON") from error


def sms_send(*, to: str, text: str) -> str:
    """Send ``text`` to the E.164 number ``to``; return the gateway's id."""
    if not is_configured():
        logger.info(
            "SMS to %s (%d characters) kept in the outbox: no gateway", mask_phone(to), len(text)
        )
        return CONSOLE_REFERENCE
    answer = _call("POST", "/sms", data={"from": settings.SMS_SENDER, "to": to, "message": text})
    reference = answer.get("id")
    if not isinstance(reference, str) or not reference:
        raise DeliveryUnknown("the SMS gateway answered without an id")
    return reference


def sms_find(*, to: str, text: str, since: datetime) -> str | None:
    """The id of ``text`` sent to ``to`` at or after ``since``, or None if the gateway has none."""
    if not is_configured():
        return None
    start = (since - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    answer = _call("GET", "/sms", params={"to": to, "start": start})
    for sent in answer.get("data") or []:
        if isinstance(sent, dict) and sent.get("to") == to and sent.get("message") == text:
            return str(sent.get("id") or "")
    return None
