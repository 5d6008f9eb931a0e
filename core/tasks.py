"""Celery tasks of the operations part: thin wrappers around services."""

from celery import shared_task

from core.metrics import task_timed
from core.services import heartbeat_record


@shared_task
def beat_heartbeat() -> str:
    with task_timed("beat_heartbeat"):
        heartbeat = heartbeat_record()
    return f"heartbeat {heartbeat.beats} recorded at {heartbeat.last_seen_at.isoformat()}"


@shared_task(acks_late=True)
def maintenance(job_name: str) -> str:
    """Run one periodic job (see core.maintenance) if it is due; its run is recorded."""
    from core.maintenance import run_job

    record = run_job(job_name)
    if record is None:
        return f"{job_name}: not due, done already, or running on another worker"
    return f"{job_name}: {record.summary}"


@shared_task(acks_late=True)
def maintenance_queued(run_id: int) -> str:
    """Run a job someone queued from the admin (see core.maintenance.job_enqueue)."""
    from core.maintenance import run_queued

    record = run_queued(run_id)
    if record is None:
        return f"run {run_id}: done already, or running on another worker"
    return f"{record.job}: {record.summary}"


@shared_task(acks_late=True)
def message_deliver(message_id: int) -> str:
    """Deliver one outbox message; when it must wait, try again after its backoff.

    The every-minute sweep (core.jobs outbox_delivery) delivers anything this
    task never got to, so a lost task loses no message.
    """
    from core.models import Message
    from core.outbox import RETRY, UNKNOWN
    from core.outbox import message_deliver as deliver

    outcome = deliver(message_id=message_id)
    if outcome in (RETRY, UNKNOWN):
        due = (
            Message.objects.filter(pk=message_id).values_list("next_attempt_at", flat=True).first()
        )
        if due is not None:
            message_deliver.apply_async((message_id,), eta=due, retry=False)
    return f"message {message_id}: {outcome or 'not due, or taken by another worker'}"
