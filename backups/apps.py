from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackupsConfig(AppConfig):
    """Database backups proven by restoring them, and the checks before a release."""

    name = "backups"
    verbose_name = _("Backups")

    def ready(self) -> None:
        from backups import selectors
        from core import metrics
        from core.selectors import status_part_register

        metrics.gauges_register(selectors.backup_gauges)
        status_part_register("backup", selectors.backup_status_part)
