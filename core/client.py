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
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest
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
