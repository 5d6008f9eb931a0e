"""Billing's figures on the admin index: MRR, new, churned, past due, conversion per pilot."""

from django import template

from billing.reports import dashboard_figures

register = template.Library()

DAYS = 30


@register.inclusion_tag("admin/billing/dashboard.html", takes_context=True)
def billing_dashboard(context):
    request = context["request"]
    if not request.user.has_perm("billing.view_subscription"):
        return {"figures": None}
    return {"figures": dashboard_figures(days=DAYS), "days": DAYS}
