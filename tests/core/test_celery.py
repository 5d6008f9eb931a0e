"""A real Celery worker and beat, on whichever broker the settings name."""

import time

import pytest
from django_celery_beat.models import PeriodicTask

from core.models import Heartbeat
from core.tasks import beat_heartbeat
from tests.celery_processes import celery_process, private_queue, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_worker_executes_the_heartbeat_task():
    queue = private_queue()

    with celery_process(
        "worker",
        "--pool",
        "solo",
        "--queues",
        queue,
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ) as worker:
        beat_heartbeat.apply_async(queue=queue)

        heartbeat = wait_for(
            lambda: Heartbeat.objects.filter(source=Heartbeat.Source.BEAT).first(),
            timeout=60,
            what="the worker to record a heartbeat",
            process=worker,
        )

    assert heartbeat.beats == 1


def test_beat_syncs_the_schedule_into_the_database_scheduler(settings):
    with celery_process("beat", "--loglevel", "INFO") as beat:
        task = wait_for(
            lambda: PeriodicTask.objects.filter(name="core-beat-heartbeat").first(),
            timeout=60,
            what="beat to write its schedule",
            process=beat,
        )

    assert task.task == settings.CELERY_BEAT_SCHEDULE["core-beat-heartbeat"]["task"]
    assert task.enabled
    assert task.interval.every == 60


def test_beat_and_worker_run_a_short_schedule_and_record_the_runs():
    from django_celery_beat.models import IntervalSchedule

    from core.models import MaintenanceRun

    queue = private_queue()
    every_second, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.create(
        name="test-fast-sla-sweep",
        task="core.tasks.maintenance",
        interval=every_second,
        args='["sla_sweep"]',
        queue=queue,
    )

    with (
        celery_process(
            "worker",
            "--pool",
            "solo",
            "--queues",
            queue,
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ) as worker,
        celery_process("beat", "--loglevel", "INFO", "--max-interval", "1") as beat,
    ):
        wait_for(
            lambda: MaintenanceRun.objects.filter(job="sla_sweep", outcome="ok").exists(),
            timeout=60,
            what="beat to send the sweep and the worker to run it",
            process=worker if worker.poll() is not None else beat,
        )
        time.sleep(3)  # beat goes on sending it every second

    runs = list(MaintenanceRun.objects.filter(job="sla_sweep"))
    assert runs and all(
        run.outcome == "ok" and run.finished_at and run.summary.startswith("SLA sweep")
        for run in runs
    )
    keys = [run.run_key for run in runs]
    assert len(keys) == len(set(keys)), "triggers within one minute share that minute's run"
