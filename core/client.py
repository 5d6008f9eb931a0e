"""Who is asking: the client's address, reduced to a salted hash at the edge.

Public pages need to tell clients apart (rate limits, one scan per client,
duplicate feedback) without keeping addresses. The address is read once and
turned into a keyed hash; only the hash is stored or used as a cache key.
"""

from django.conf import settings
from django.http import HttpRequest
from django.utils.crypto import salted_hmac


def client_address(request: HttpRequest) -> str:
    """The client's IP: REMOTE_ADDR, or the X-Forwarded-For entry our own proxies added."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def client_hash(request: HttpRequest) -> str:
    """A keyed hash of the client's address: stable, not reversible without the secret key."""
    return salted_hmac("pilotops.client", client_address(request), algorithm="sha256").hexdigest()
