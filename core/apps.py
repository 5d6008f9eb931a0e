from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every part shares: the base model, roles, health, logging, heartbeat."""

    name = "core"
    verbose_name = "Operations"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate
        from django.utils.module_loading import autodiscover_modules

        from core import metrics
        from core.schedule import beat_schedule_sync_after_migrate

        autodiscover_modules("jobs")  # each app's periodic jobs, as the admin finds admin.py
        metrics.register()
        post_migrate.connect(beat_schedule_sync_after_migrate, sender=self)
