from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RolloutsConfig(AppConfig):
    """Feature flags for businesses, and staged rollouts guarded by the cafés' own figures."""

    name = "rollouts"
    verbose_name = _("Feature rollouts")

    def ready(self) -> None:
        from core import flags
        from rollouts import metrics, selectors, services
        from support import incidents

        flags.rules_loader_register(selectors.flag_rules)
        if services.feature_alert_roll_back not in incidents.feature_alert_handlers:
            incidents.feature_alert_handlers.append(services.feature_alert_roll_back)
        metrics.register()
