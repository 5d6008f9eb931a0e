"""Core's periodic jobs: the outbox round and the retention sweep, which every app adds to.

Each app declares its own jobs in its ``jobs.py`` (found at start-up, the way
the admin finds ``admin.py``) and adds its share of the sweeps here with
``job_step``. Beat's schedule (CELERY_BEAT_SCHEDULE) triggers jobs by name
through ``core.tasks.maintenance``; ``python manage.py run_maintenance
<name>`` runs one now. Each wraps services that are safe to run twice.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.management import call_command

from core import outbox
from core.maintenance import DAILY, EVERY_MINUTE, Counts, job, job_steps_run
from core.models import MaintenanceRun, MaintenanceStep

RUN_RECORDS_KEPT_DAYS = 30
# What a step marks done (a report sent for its period) is asked about only
# while a run for that period can still happen: days, or a week for a
# pilot's success report.
STEPS_KEPT_DAYS = 60


@job("outbox_delivery", EVERY_MINUTE)
def outbox_delivery(now: datetime):
    """What the apps owe the outbox first (answers a lost task never sent), then every
    message due."""
    owed = job_steps_run("outbox_delivery", now)
    return Counts(outbox.messages_deliver_due(now=now)).merge(owed)


@job("retention_sweep", DAILY)
def retention_sweep(now: datetime):
    """Each app's contacts and raw rows past RETENTION_DAYS, then the outbox and run records."""
    summary = job_steps_run("retention_sweep", now)
    summary.add(
        "outbox messages purged",
        outbox.messages_anonymise(older_than=now - timedelta(days=settings.RETENTION_DAYS)),
    )
    summary.add(
        "run records purged",
        MaintenanceRun.objects.filter(
            started_at__lt=now - timedelta(days=RUN_RECORDS_KEPT_DAYS)
        ).delete()[0],
    )
    summary.add(
        "done steps purged",
        MaintenanceStep.objects.filter(done_at__lt=now - timedelta(days=STEPS_KEPT_DAYS)).delete()[
            0
        ],
    )
    call_command("clearsessions")
    return summary
