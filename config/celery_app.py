"""The Celery application: configured from Django settings (CELERY_*), tasks autodiscovered.

Every task is a ``core.workers.RecordedTask`` (dead letters), and every worker
keeps a heartbeat (``core.workers.WorkerHeartbeatStep``).
"""

import os

from celery import Celery

from core.workers import WorkerHeartbeatStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("pilotops", task_cls="core.workers:RecordedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.steps["worker"].add(WorkerHeartbeatStep)
app.autodiscover_tasks()
