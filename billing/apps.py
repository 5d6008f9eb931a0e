from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    """Plans, subscriptions and invoices on Stripe Billing, after a pilot."""

    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        from billing import reports, selectors, webhooks
        from core import flags
        from pilots import maintenance, reporting, stripe_events

        flags.entitlements_loader_register(selectors.plan_entitlements)
        stripe_events.event_handlers_register(webhooks.EVENT_HANDLERS)
        maintenance.report_section_register(reports.report_section)
        reporting.site_note_register(reports.report_plan_notes)
