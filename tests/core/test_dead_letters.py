"""Dead letters: a task that fails for good is kept, masked, for a person to requeue or discard."""

import pytest
from django.core.exceptions import ValidationError

from config.celery_app import app as celery_app
from core.models import DeadLetter, Event, Heartbeat
from core.services import dead_letter_discard, dead_letter_record, dead_letter_requeue
from tests.celery_processes import celery_process, tasks_routed, wait_for

WORKER_OPTIONS = (
    "--pool",
    "solo",
    "--loglevel",
    "INFO",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
)


def test_every_task_acknowledges_late_and_is_redelivered_when_its_worker_is_lost():
    from core.tasks import beat_heartbeat, maintenance

    assert celery_app.conf.task_acks_late is True
    assert celery_app.conf.task_reject_on_worker_lost is True
    assert celery_app.conf.worker_prefetch_multiplier == 1
    assert maintenance.acks_late and beat_heartbeat.acks_late


@pytest.mark.django_db
def test_dead_letter_masks_contact_data_and_cannot_be_requeued_with_it():
    dead_letter = dead_letter_record(
        task_name="pilots.tasks.claim_link",
        task_id="task-1",
        args=[42, "anna@example.se"],
        kwargs={"phone": "+46 70 123 45 67", "language": "sv"},
        retries=5,
        error="SMTPServerDisconnected: anna@example.se went away",
    )

    assert dead_letter.arguments == {
        "args": [42, "[email]"],
        "kwargs": {"phone": "[phone]", "language": "sv"},
    }
    assert dead_letter.arguments_masked
    assert "anna@example.se" not in dead_letter.error
    with pytest.raises(ValidationError, match="contact data"):
        dead_letter_requeue(dead_letter=dead_letter)
    dead_letter.refresh_from_db()
    assert dead_letter.status == DeadLetter.Status.DEAD


@pytest.mark.django_db
def test_dead_letter_is_recorded_once_per_task_id():
    for _ in range(2):
        dead_letter_record(
            task_name="core.tasks.maintenance",
            task_id="same-task",
            args=["sla_sweep"],
            kwargs={},
            retries=0,
            error="boom",
        )

    assert DeadLetter.objects.count() == 1


@pytest.mark.django_db
def test_dead_letter_is_discarded_once():
    dead_letter = dead_letter_record(
        task_name="core.tasks.beat_heartbeat", task_id="t", args=[], kwargs={}, retries=0, error="x"
    )

    dead_letter_discard(dead_letter=dead_letter)

    with pytest.raises(ValidationError, match="already handled"):
        dead_letter_discard(dead_letter=dead_letter)
    with pytest.raises(ValidationError, match="already handled"):
        dead_letter_requeue(dead_letter=dead_letter)
    assert Event.objects.filter(action="dead_letter_discarded").count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_task_that_fails_for_good_on_a_real_worker_leaves_a_dead_letter():
    with (
        tasks_routed("core.tasks.maintenance") as queue,
        celery_process("worker", "--queues", queue, *WORKER_OPTIONS) as worker,
    ):
        result = celery_app.send_task("core.tasks.maintenance", args=["no_such_job"])
        dead_letter = wait_for(
            lambda: DeadLetter.objects.filter(task_id=result.id).first(),
            timeout=60,
            what="the worker to record the failed task",
            process=worker,
        )

    assert dead_letter.task_name == "core.tasks.maintenance"
    assert dead_letter.arguments == {"args": ["no_such_job"], "kwargs": {}}
    assert dead_letter.error.startswith("KeyError")
    assert dead_letter.status == DeadLetter.Status.DEAD


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_requeue_from_the_admin_runs_the_task_again_on_a_worker(admin_client):
    dead_letter = dead_letter_record(
        task_name="core.tasks.beat_heartbeat",
        task_id="lost-heartbeat",
        args=[],
        kwargs={},
        retries=3,
        error="OperationalError: the database went away",
    )

    with (
        tasks_routed("core.tasks.beat_heartbeat") as queue,
        celery_process("worker", "--queues", queue, *WORKER_OPTIONS) as worker,
    ):
        response = admin_client.post(
            "/admin/core/deadletter/",
            {"action": "requeue", "_selected_action": [dead_letter.pk]},
            follow=True,
        )
        heartbeat = wait_for(
            lambda: Heartbeat.objects.filter(source=Heartbeat.Source.BEAT).first(),
            timeout=60,
            what="the requeued task to run",
            process=worker,
        )

    assert "1 requeued" in response.content.decode()
    dead_letter.refresh_from_db()
    assert dead_letter.status == DeadLetter.Status.REQUEUED
    assert dead_letter.handled_by is not None
    assert heartbeat.beats == 1


@pytest.mark.django_db
def test_dead_letters_are_listed_for_staff_and_only_operators_act_on_them(
    admin_client, viewer_client
):
    dead_letter_record(
        task_name="core.tasks.maintenance",
        task_id="t-1",
        args=["payout_run"],
        kwargs={},
        retries=0,
        error="RuntimeError: Stripe was away",
    )

    listed = viewer_client.get("/admin/core/deadletter/")
    refused = viewer_client.post(
        "/admin/core/deadletter/",
        {"action": "discard", "_selected_action": [DeadLetter.objects.get().pk]},
    )

    assert listed.status_code == 200
    assert "RuntimeError: Stripe was away" in listed.content.decode()
    assert refused.status_code == 200  # the list again, with no such action offered
    assert DeadLetter.objects.get().status == DeadLetter.Status.DEAD
    assert admin_client.get("/admin/core/deadletter/").status_code == 200
