"""Who is asking: the client's address, reduced to a salted hash at the edge.

Public pages need to tell clients apart (rate limits, one scan per client,
duplicate feedback) without keeping addresses. The address is read once and
turned into a keyed hash; only the hash is stored or used as a cache key.

``X-Forwarded-For`` is believed only from our own proxies: when the direct
peer (``REMOTE_ADDR``) is in ``TRUSTED_PROXY_NETWORKS``, the header is read
from the right, skipping every address of a trusted network, and the first
other address is the client. Anyone who reaches gunicorn directly is known
by their own address, whatever header they send.
"""

import ipaddress
import re
import secrets
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(network, strict=False) for network in spec)


def trusted_proxy_networks() -> tuple[IPNetwork, ...]:
    return _networks(tuple(settings.TRUSTED_PROXY_NETWORKS))


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _is_trusted(address, networks: tuple[IPNetwork, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address(request: HttpRequest) -> str:
    """The client's IP: the direct peer, or what our own proxies say it is."""
    peer = request.META.get("REMOTE_ADDR", "")
    networks = trusted_proxy_networks()
    if not _is_trusted(_address(peer), networks):
        return peer
    forwarded = [part for part in request.headers.get("X-Forwarded-For", "").split(",")]
    for part in reversed(forwarded):
        address = _address(part)
        if address is None:
            break  # garbage in the chain: nothing left of it can be believed
        if not _is_trusted(address, networks):
            return str(address)
    return peer


def client_hash(request: HttpRequest) -> str:
    """A keyed hash of the client's address: stable, not reversible without the secret key."""
    return salted_hmac("pilotops.client", client_address(request), algorithm="sha256").hexdigest()


# ------------------------------------------------------------------------------
# The device: a first-party random cookie, joined with the network hash
# ------------------------------------------------------------------------------
# Two people at one table share the café's Wi-Fi, so the address alone cannot
# tell them apart. Each browser gets a random value in an HttpOnly, SameSite=Lax
# cookie on its first visit to a public form; it carries nothing about the
# person and is only ever used as part of a keyed hash. A browser that sends no
# cookie is a new device each time (the per-network limit still holds).
DEVICE_COOKIE_NAME = "pilotops_device"
DEVICE_COOKIE_MAX_AGE_SECONDS = 365 * 24 * 3600
DEVICE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22,64}$")


def device_id(request: HttpRequest) -> str:
    """This browser's device cookie, or a new random one (set it with ``device_cookie_set``)."""
    known = request.COOKIES.get(DEVICE_COOKIE_NAME, "")
    if DEVICE_ID_PATTERN.match(known):
        return known
    if not hasattr(request, "_new_device_id"):
        request._new_device_id = secrets.token_urlsafe(24)
    return request._new_device_id


def device_hash(request: HttpRequest) -> str:
    """A keyed hash of the network (client hash) and the device cookie together."""
    return salted_hmac(
        "pilotops.device", f"{client_hash(request)}:{device_id(request)}", algorithm="sha256"
    ).hexdigest()


def device_cookie_set(request: HttpRequest, response: HttpResponse) -> None:
    """Give a browser without a device cookie the one this request was known by."""
    if request.COOKIES.get(DEVICE_COOKIE_NAME) == device_id(request):
        return
    response.set_cookie(
        DEVICE_COOKIE_NAME,
        device_id(request),
        max_age=DEVICE_COOKIE_MAX_AGE_SECONDS,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
