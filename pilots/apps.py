from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PilotsConfig(AppConfig):
    """Businesses, pilots, enrollments, QR codes, feedback and reward payments."""

    name = "pilots"
    verbose_name = _("Pilots")
