"""The cache settings from ``CACHE_URL``.

The shared cache (Redis in production) holds what can be lost: rate-limit
windows, scan counters, intake facts and flag rules read through. When it
stops answering, django-redis is told to ignore the error (and log it), so a
read is a miss and a write is dropped: the feedback form keeps taking
feedback from the database, rate limits let requests through (see
``core.ratelimit``), and ``/health/ready/`` reports the cache as failing.
"""

import environ

BACKENDS = {
    "django.core.cache.backends.locmem.LocMemCache": "core.cache.LocMemCache",
    "django_redis.cache.RedisCache": "django_prometheus.cache.backends.redis.RedisCache",
}


def cache_config(url: str) -> dict:
    config = environ.Env.cache_url_config(url)
    config["BACKEND"] = BACKENDS.get(config["BACKEND"], config["BACKEND"])
    if "redis" in config["BACKEND"]:
        config.setdefault("OPTIONS", {})["IGNORE_EXCEPTIONS"] = True
    return config
