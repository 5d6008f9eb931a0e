from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """People's data rights: what Pilot Ops holds about one contact, exported or erased."""

    name = "privacy"
    verbose_name = "Data rights"
