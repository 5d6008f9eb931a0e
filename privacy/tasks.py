"""Celery tasks of data rights: thin wrappers around the services."""

from celery import shared_task


@shared_task(acks_late=True)
def data_request_answer(data_request_id: int) -> str:
    """Answer one self-service request; the every-minute outbox job answers any it missed."""
    from privacy.links import data_request_answer as answer

    outcome = answer(data_request_id=data_request_id)
    return f"data request {data_request_id}: {outcome or 'answered already'}"
