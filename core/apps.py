from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every part shares: the base model, roles, health, logging, heartbeat."""

    name = "core"
    verbose_name = "Operations"

    def ready(self) -> None:
        from core import metrics

        metrics.register()
