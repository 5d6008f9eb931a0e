"""Cache backends with Prometheus counters.

django-prometheus's LocMemCache returns the default for any falsy cached value
(`cached or default`), so a cached 0 or False reads as a miss. This subclass
keeps its hit/miss counters and returns what was stored.
"""

from django.core.cache.backends import locmem
from django_prometheus.cache.metrics import (
    django_cache_get_total,
    django_cache_hits_total,
    django_cache_misses_total,
)

_MISSING = object()


class LocMemCache(locmem.LocMemCache):
    def get(self, key, default=None, version=None):
        django_cache_get_total.labels(backend="locmem").inc()
        cached = super().get(key, default=_MISSING, version=version)
        if cached is _MISSING:
            django_cache_misses_total.labels(backend="locmem").inc()
            return default
        django_cache_hits_total.labels(backend="locmem").inc()
        return cached
