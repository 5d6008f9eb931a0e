"""Keep django-celery-beat's tables in step with CELERY_BEAT_SCHEDULE.

Beat's DatabaseScheduler syncs the schedule when it starts; syncing after
every migrate too means the admin shows every periodic task (with its
schedule) as soon as a deploy has migrated, before beat restarts. Existing
rows keep their *enabled* flag: a task switched off in the admin stays off.
"""

from django.conf import settings


def beat_schedule_sync() -> list[str]:
    from django_celery_beat.schedulers import ModelEntry

    from config.celery_app import app

    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        ModelEntry.from_entry(name, app=app, **entry)
    return list(settings.CELERY_BEAT_SCHEDULE)


def beat_schedule_sync_after_migrate(sender, **kwargs) -> None:
    """post_migrate receiver (infrastructure, like Django's own permission sync)."""
    if sender.name == "core":
        beat_schedule_sync()
