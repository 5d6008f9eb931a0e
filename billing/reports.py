"""Billing's figures as the dashboard and the daily and weekly reports show them."""

from datetime import date, datetime, time, timedelta

from django.template.loader import render_to_string
from django.utils import timezone

from billing.selectors import billing_figures
from core.maintenance import LOCAL_ZONE


def local_period(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in Stockholm time."""
    return (
        datetime.combine(start, time(), tzinfo=LOCAL_ZONE),
        datetime.combine(end + timedelta(days=1), time(), tzinfo=LOCAL_ZONE),
    )


def report_section(*, start: date, end: date) -> str:
    since, until = local_period(start, end)
    return render_to_string(
        "billing/email/report_section.txt", {"figures": billing_figures(start=since, end=until)}
    )


def dashboard_figures(*, days: int = 30):
    today = timezone.localdate()
    since, until = local_period(today - timedelta(days=days - 1), today)
    return billing_figures(start=since, end=until)
