"""Machine-to-machine access: bearer tokens for receivers and operator endpoints."""

import hmac

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
