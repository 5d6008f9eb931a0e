from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Plans, subscriptions and invoices on Stripe Billing, after a pilot."""

    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from billing import reports, selectors, webhooks
        from core import flags
        from pilots import maintenance, reporting, stripe_events

        flags.entitlements_loader_register(selectors.plan_entitlements)
        stripe_events.event_handlers_register(webhooks.EVENT_HANDLERS)
        maintenance.report_section_register(reports.report_section)
        reporting.site_note_register(reports.report_plan_notes)
