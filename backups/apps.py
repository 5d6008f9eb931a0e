from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackupsConfig(AppConfig):
    """Database backups proven by restoring them, and the checks before a release."""

    name = "backups"
    verbose_name = _("Backups")
