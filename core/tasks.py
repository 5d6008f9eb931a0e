"""Celery tasks of the operations part: thin wrappers around services."""

from celery import shared_task

from core.metrics import task_timed
from core.services import heartbeat_record


@shared_task
def beat_heartbeat() -> str:
    with task_timed("beat_heartbeat"):
        heartbeat = heartbeat_record()
    return f"heartbeat {heartbeat.beats} recorded at {heartbeat.last_seen_at.isoformat()}"
