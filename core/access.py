"""Machine-to-machine access: bearer tokens for receivers and operator endpoints."""

import hmac

from django.conf import settings
from django.http import HttpRequest


def bearer_token_matches(request: HttpRequest, expected: str) -> bool:
    """True when the request's ``Authorization: Bearer …`` equals ``expected``.

    An empty ``expected`` matches nothing: an endpoint without a configured
    token refuses everyone rather than letting everyone in. Compared in
    constant time.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def operator_access_granted(request: HttpRequest) -> bool:
    """Whether ``request`` may read operator detail (/metrics, detailed readiness).

    Open in the embedded mode; in production only with ``METRICS_TOKEN`` as
    the bearer token, because the figures name cafés, payments and tickets.
    """
    return not settings.IS_PRODUCTION or bearer_token_matches(request, settings.METRICS_TOKEN)
