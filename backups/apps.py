from django.apps import AppConfig


class BackupsConfig(AppConfig):
    """Database backups proven by restoring them, and the checks before a release."""

    name = "backups"
    verbose_name = "Backups"

    def ready(self) -> None:
        from backups import selectors
        from core import metrics
        from core.selectors import status_part_register

        metrics.gauges_register(selectors.backup_gauges)
        status_part_register("backup", selectors.backup_status_part)
