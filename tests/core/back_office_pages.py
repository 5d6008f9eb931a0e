"""The core back office pages outside its model admins, and rows the demo lacks, for the Swedish
page check."""

from datetime import timedelta

from django.utils import timezone

from core.models import (
    DeadLetter,
    Heartbeat,
    MaintenanceRun,
    MaintenanceStep,
    Message,
    SecurityEvent,
    WorkerHeartbeat,
)

PAGES = ["/admin/", "/admin/language/", "/admin/second-factor/"]


def make_rows() -> None:
    """One row of every core admin, so each change page is read."""
    now = timezone.now()
    Heartbeat.objects.get_or_create(
        source=Heartbeat.Source.BEAT, defaults={"last_seen_at": now, "beats": 3}
    )
    WorkerHeartbeat.objects.get_or_create(
        hostname="celery@worker-1", defaults={"started_at": now, "last_seen_at": now}
    )
    run = MaintenanceRun.objects.create(
        job="retention",
        run_key="2026-11-30",
        outcome=MaintenanceRun.Outcome.OK,
        finished_at=now,
        summary="3 rows purged",
        counts={},
    )
    MaintenanceStep.objects.create(key="weekly-report:2026-W48", run=run)
    Message.objects.create(
        channel=Message.Channel.SMS,
        purpose="reward_claim",
        recipient="+46701234567",
        recipient_hash="0" * 64,
        subject="SLA",
        body="P1",
        next_attempt_at=now + timedelta(minutes=5),
    )
    SecurityEvent.objects.create(kind=SecurityEvent.Kind.LOGIN_FAILED, username="anna")
    DeadLetter.objects.create(
        task_name="core.tasks.deliver_message",
        task_id="a1b2c3",
        arguments={},
        retries=5,
        error="TimeoutError",
        failed_at=now,
    )
