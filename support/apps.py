from django.apps import AppConfig


class SupportConfig(AppConfig):
    """Tickets, SLA policies and calendars, incidents and staff links."""

    name = "support"
    verbose_name = "Support"
