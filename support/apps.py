from django.apps import AppConfig


class SupportConfig(AppConfig):
    """Tickets, SLA policies and calendars, incidents and staff links."""

    name = "support"
    verbose_name = "Support"

    def ready(self) -> None:
        from core import metrics
        from core.services import demo_seed_register
        from support.demo import demo_seed
        from support.metrics import support_gauges

        metrics.gauges_register(support_gauges)
        demo_seed_register(demo_seed)
