"""/health/status/: the whole picture for operators, and the same facts on /metrics."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import WorkerHeartbeat
from core.services import heartbeat_record, worker_heartbeat_record
from core.tasks import beat_heartbeat
from tests.celery_processes import tasks_routed
from tests.core.test_business_metrics import scrape, value

pytestmark = pytest.mark.django_db


@pytest.fixture
def routed_queue():
    with tasks_routed("core.tasks.beat_heartbeat") as queue:
        yield queue


def test_status_names_a_stale_scheduler_and_missing_workers(client, settings):
    settings.BEAT_HEARTBEAT_MAX_AGE_SECONDS = 180
    heartbeat_record(at=timezone.now() - timedelta(minutes=10))

    response = client.get("/health/status/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "attention"
    assert body["stale"] == ["scheduler", "workers"]
    assert body["scheduler"]["stale"] is True
    assert 590 <= body["scheduler"]["age_seconds"] <= 660
    assert body["workers"]["alive"] == 0
    assert client.get("/health/ready/").status_code == 200


def test_status_is_ok_with_a_fresh_beat_and_a_live_worker(client):
    heartbeat_record()
    worker_heartbeat_record(hostname="celery@web-1")

    body = client.get("/health/status/").json()

    assert body["status"] == "ok", body
    assert body["stale"] == []
    assert body["workers"]["alive"] == 1
    assert body["workers"]["hosts"][0]["hostname"] == "celery@web-1"
    assert set(body["checks"]) == {"database", "cache", "broker"}


def test_status_counts_only_workers_with_a_recent_heartbeat(client, settings):
    settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS = 90
    heartbeat_record()
    worker_heartbeat_record(hostname="celery@alive")
    worker_heartbeat_record(hostname="celery@killed", at=timezone.now() - timedelta(minutes=5))

    body = client.get("/health/status/").json()

    assert [host["hostname"] for host in body["workers"]["hosts"]] == ["celery@alive"]
    assert value(scrape(client), "pilotops_workers_alive") == 1
    assert WorkerHeartbeat.objects.count() == 2


def test_status_and_metrics_show_the_depth_of_each_queue(client, routed_queue):
    for _ in range(3):
        beat_heartbeat.apply_async()

    body = client.get("/health/status/").json()

    assert body["queues"][routed_queue] == 3
    assert value(scrape(client), "pilotops_queue_depth", queue=routed_queue) == 3


def test_status_needs_the_metrics_token_in_production(client, settings):
    settings.IS_PRODUCTION = True
    settings.METRICS_TOKEN = "operator-token-0123456789"

    refused = client.get("/health/status/")
    wrong = client.get("/health/status/", HTTP_AUTHORIZATION="Bearer not-the-token")
    allowed = client.get("/health/status/", HTTP_AUTHORIZATION="Bearer operator-token-0123456789")

    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert "scheduler" not in refused.json()
    assert wrong.status_code == 401
    assert allowed.status_code == 200
    assert "scheduler" in allowed.json()


def test_status_in_production_without_a_configured_token_refuses_everyone(client, settings):
    settings.IS_PRODUCTION = True
    settings.METRICS_TOKEN = ""

    response = client.get("/health/status/", HTTP_AUTHORIZATION="Bearer ")

    assert response.status_code == 401
