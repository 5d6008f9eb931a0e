"""How every Pilot Ops Celery worker behaves beyond running tasks.

* ``RecordedTask`` is the base of every task (``config/celery_app.py``): a
  task that fails for good, after its retries, leaves a dead letter
  (``core.models.DeadLetter``) for a person to requeue or discard.
* ``WorkerHeartbeatStep`` is a worker bootstep: the worker writes its
  heartbeat row at start, every ``WORKER_HEARTBEAT_SECONDS`` and removes it
  at a clean stop, so ``/health/status/`` and ``pilotops_workers_alive`` know
  how many workers are alive.

Both import Django lazily: this module is loaded while Celery configures
itself, before the apps are ready.
"""

import logging

from celery import Task, bootsteps

logger = logging.getLogger(__name__)


class RecordedTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        from core.services import dead_letter_record

        try:
            dead_letter_record(
                task_name=self.name,
                task_id=task_id,
                args=list(args or ()),
                kwargs=dict(kwargs or {}),
                retries=self.request.retries or 0,
                error=f"{type(exc).__name__}: {exc}\n{einfo.traceback if einfo else ''}",
            )
        except Exception:
            logger.exception("could not record the dead letter of task %s", task_id)
        super().on_failure(exc, task_id, args, kwargs, einfo)


def _heartbeat(hostname: str) -> None:
    from django.db import close_old_connections

    from core.services import worker_heartbeat_record

    close_old_connections()
    try:
        worker_heartbeat_record(hostname=hostname)
    except Exception as error:  # noqa: BLE001 - a database away for a moment must not stop the worker
        logger.warning("worker heartbeat not recorded: %s", type(error).__name__)
    finally:
        close_old_connections()


class WorkerHeartbeatStep(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.timer_entry = None

    def start(self, worker) -> None:
        from django.conf import settings

        _heartbeat(worker.hostname)
        self.timer_entry = worker.timer.call_repeatedly(
            settings.WORKER_HEARTBEAT_SECONDS, _heartbeat, (worker.hostname,), priority=10
        )

    def stop(self, worker) -> None:
        from core.services import worker_heartbeat_forget

        if self.timer_entry is not None:
            self.timer_entry.cancel()
        try:
            worker_heartbeat_forget(hostname=worker.hostname)
        except Exception as error:  # noqa: BLE001
            logger.warning("worker heartbeat not removed: %s", type(error).__name__)
