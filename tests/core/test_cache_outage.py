"""With the shared cache away, customers still give feedback; readiness says why."""

import logging
import socket

import pytest
from django.test import override_settings

from config.caches import cache_config
from core.ratelimit import Rate, rate_limit_hit
from pilots.models import Feedback
from tests.conftest import feedback_post

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when this returns: nobody answers


@pytest.fixture
def cache_away():
    """The production cache configuration, pointed at a Redis that does not answer."""
    config = cache_config(f"redis://127.0.0.1:{closed_port()}/0")
    with override_settings(CACHES={"default": config}, SCAN_COUNTS_IN_CACHE=True):
        yield


def test_the_form_takes_feedback_while_the_cache_is_away(client, open_code, cache_away, caplog):
    page = client.get(f"/q/{open_code.token}/")
    with caplog.at_level(logging.WARNING):
        sent = client.post(f"/q/{open_code.token}/", feedback_post())

    assert page.status_code == 200
    assert sent.status_code in (200, 302)
    assert Feedback.objects.filter(qr_code=open_code).count() == 1
    assert "the cache is unavailable" in caplog.text


def test_a_rate_limit_lets_requests_through_while_the_cache_is_away(cache_away):
    rate = Rate.parse("1/h")
    verdicts = [rate_limit_hit(scope="test", key="k", rate=rate) for _ in range(3)]
    assert all(verdict.allowed for verdict in verdicts)


def test_readiness_names_the_cache_while_it_is_away(client, cache_away):
    ready = client.get("/health/ready/")
    assert ready.status_code == 503
    assert "cache" in ready.json()["failing"]


def test_the_production_cache_ignores_errors_only_for_redis():
    assert cache_config("redis://127.0.0.1:6379/1")["OPTIONS"]["IGNORE_EXCEPTIONS"] is True
    assert "OPTIONS" not in cache_config("locmemcache://pilotops")
