from django.apps import AppConfig


class PilotsConfig(AppConfig):
    """Businesses, pilots, enrollments, QR codes, feedback and reward payments."""

    name = "pilots"
    verbose_name = "Pilots"
