"""The pilot dashboard on the admin index."""

from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe

from pilots.reporting import dashboard

register = template.Library()


@register.inclusion_tag("admin/pilots/dashboard.html", takes_context=True)
def pilot_dashboard(context):
    request = context["request"]
    if not request.user.has_perm("pilots.view_pilot"):
        return {"boards": None}
    from support.selectors import on_call_now, report_support_figures

    today = timezone.localdate()
    boards = dashboard(today=today)
    for board in boards:
        for site in board.sites:
            site.chart = mark_safe(site.chart)  # noqa: S308 - built by pilots.reporting.svg_chart
    return {
        "boards": boards,
        "support": report_support_figures(start=today, end=today),
        "on_call": on_call_now(),
        "today": today,
    }
