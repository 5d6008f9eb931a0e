"""Worker heartbeats written by real Celery workers."""

import pytest

from core.models import WorkerHeartbeat
from tests.celery_processes import celery_process, private_queue, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_worker_writes_its_heartbeat_while_it_runs_and_removes_it_when_it_stops(settings):
    queue = private_queue()
    hostname = f"{queue}@test"

    with celery_process(
        "worker", "--pool", "solo", "--queues", queue, "--hostname", hostname, "--loglevel", "INFO"
    ) as worker:
        heartbeat = wait_for(
            lambda: WorkerHeartbeat.objects.filter(hostname=hostname).first(),
            timeout=60,
            what="the worker to write its heartbeat",
            process=worker,
        )

    assert heartbeat.started_at <= heartbeat.last_seen_at
    assert not WorkerHeartbeat.objects.filter(hostname=hostname).exists()
