"""The id of the request being served, for log lines and the X-Request-ID header."""

import re
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"
NO_REQUEST = "-"
# An id from the proxy in front is kept only when it is short and plain.
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

_request_id: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)


def current_request_id() -> str:
    return _request_id.get()


def request_id_from_header(header_value: str | None) -> str:
    """The proxy's id when it is acceptable, otherwise a fresh one."""
    if header_value and _ACCEPTABLE_ID.match(header_value):
        return header_value
    return uuid.uuid4().hex


def bind_request_id(request_id: str) -> None:
    """Make ``request_id`` the current one for this thread or task."""
    _request_id.set(request_id)
