from django.apps import AppConfig


class BackupsConfig(AppConfig):
    """Database backups proven by restoring them, and the checks before a release."""

    name = "backups"
    verbose_name = "Backups"
