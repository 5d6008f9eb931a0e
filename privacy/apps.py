from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """People's data rights: what Pilot Ops holds about one contact, exported or erased."""

    name = "privacy"
    verbose_name = _("Data rights")
