"""/health/ and /health/ready/."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from config.celery_app import app as celery_app
from core.models import Heartbeat
from core.services import heartbeat_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def unreachable_broker():
    """Point Celery's publishing side at a port where nothing listens, then put it back.

    The write URL, because a CELERY_BROKER_URL in the environment wins over
    any broker_url set on the app.
    """
    original = celery_app.conf.broker_write_url
    celery_app.conf.broker_write_url = "redis://127.0.0.1:1/0"
    yield
    celery_app.conf.broker_write_url = original


def test_health_reports_ok_with_an_iso_timestamp(client):
    response = client.get("/health/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert abs(datetime.fromisoformat(body["timestamp"]) - timezone.now()) < timedelta(minutes=1)


def test_health_ready_is_ok_when_every_part_answers(client):
    response = client.get("/health/ready/")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert set(body["checks"]) == {"database", "cache", "broker"}


def test_health_ready_stays_ok_before_any_beat_heartbeat(client):
    """No beat has ever run (or none runs now): this web process can still serve."""
    response = client.get("/health/ready/")

    assert response.status_code == 200
    assert not Heartbeat.objects.exists()


def test_health_ready_stays_ok_with_a_stale_beat_and_no_workers(client, settings):
    settings.BEAT_HEARTBEAT_MAX_AGE_SECONDS = 180
    heartbeat_record(at=timezone.now() - timedelta(hours=2))

    response = client.get("/health/ready/")

    assert response.status_code == 200
    assert response.json()["failing"] == []


def test_health_ready_names_an_unreachable_broker(client, unreachable_broker):
    response = client.get("/health/ready/")

    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]


def test_health_ready_names_an_unreachable_cache(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1},
        }
    }

    response = client.get("/health/ready/")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["cache"]
    assert "127.0.0.1" not in body["checks"]["cache"]["detail"]


def test_heartbeat_record_counts_and_never_goes_back_in_time():
    latest = timezone.now()
    heartbeat_record(at=latest)

    heartbeat = heartbeat_record(at=latest - timedelta(minutes=5))

    assert heartbeat.beats == 2
    assert heartbeat.last_seen_at == latest
    assert Heartbeat.objects.count() == 1
