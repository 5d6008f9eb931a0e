from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PilotsConfig(AppConfig):
    """Businesses, pilots, enrollments, QR codes, feedback and reward payments."""

    name = "pilots"
    verbose_name = _("Pilots")

    def ready(self) -> None:
        from core import metrics
        from core.services import demo_seed_register
        from pilots.demo import demo_seed
        from pilots.metrics import pilot_gauges

        metrics.gauges_register(pilot_gauges)
        demo_seed_register(demo_seed)
