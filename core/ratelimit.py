"""Fixed-window rate limits in the shared cache (Redis in production).

A limit is written "N/period" with the period in s, m, h or d ("10/h").
Counting uses ``cache.add`` then ``cache.incr``, both atomic in Redis, so the
limit holds across every web process that shares the cache.
"""

import logging
import time
from dataclasses import dataclass

from django.core.cache import cache

logger = logging.getLogger(__name__)

PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    limit: int
    period_seconds: int

    @classmethod
    def parse(cls, text: str) -> "Rate":
        try:
            count, period = text.split("/")
            return cls(limit=int(count), period_seconds=PERIOD_SECONDS[period.strip()])
        except (ValueError, KeyError):
            raise ValueError(f"{text!r} is not a rate like '10/h'") from None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_seconds: int


def rate_limit_hit(*, scope: str, key: str, rate: Rate, now: float | None = None) -> Verdict:
    """Count one hit of ``key`` in ``scope``; say whether it is within ``rate``."""
    now = time.time() if now is None else now
    window = int(now // rate.period_seconds)
    cache_key = f"ratelimit:{scope}:{key}:{window}"
    cache.add(cache_key, 0, timeout=rate.period_seconds + 1)
    try:
        hits = cache.incr(cache_key)
    except ValueError:  # expired between add and incr: this is the first hit of a window
        cache.add(cache_key, 1, timeout=rate.period_seconds + 1)
        hits = 1
    retry_after = int((window + 1) * rate.period_seconds - now) + 1
    if hits is None:
        # The cache is not answering (config/caches.py): let the request through
        # rather than refuse every customer while it is away.
        logger.warning("Rate limit %s not counted: the cache is unavailable", scope)
        return Verdict(allowed=True, retry_after_seconds=0)
    return Verdict(allowed=hits <= rate.limit, retry_after_seconds=retry_after)
