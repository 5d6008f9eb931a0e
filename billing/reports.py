"""Billing in the dashboard, the daily and weekly reports, and the pilot success report."""

from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from billing.models import Offer
from billing.selectors import billing_figures, businesses_subscription
from core.maintenance import LOCAL_ZONE
from core.outbox import text_render
from pilots.reporting import SiteNote


def local_period(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in Stockholm time."""
    return (
        datetime.combine(start, time(), tzinfo=LOCAL_ZONE),
        datetime.combine(end + timedelta(days=1), time(), tzinfo=LOCAL_ZONE),
    )


def report_section(*, start: date, end: date) -> str:
    since, until = local_period(start, end)
    return text_render(
        "billing/email/report_section.txt", {"figures": billing_figures(start=since, end=until)}
    )


def dashboard_figures(*, days: int = 30):
    today = timezone.localdate()
    since, until = local_period(today - timedelta(days=days - 1), today)
    return billing_figures(start=since, end=until)


def report_plan_notes(enrollments) -> dict[int, SiteNote]:
    """Under each business in the success report: the plan it chose, or a link to offer one.

    Two queries for the whole report, whatever the number of cafés.
    """
    business_ids = {enrollment.business_id for enrollment in enrollments}
    subscriptions = businesses_subscription(business_ids)
    offers: dict[int, Offer] = {}
    for offer in Offer.objects.filter(business_id__in=business_ids).select_related("plan"):
        offers.setdefault(offer.business_id, offer)  # the newest first
    notes = {}
    for enrollment in enrollments:
        subscription = subscriptions.get(enrollment.business_id)
        if subscription is not None:
            notes[enrollment.pk] = SiteNote(
                text=gettext("Plan: %(plan)s (%(status)s)")
                % {
                    "plan": subscription.plan.name,
                    "status": subscription.get_status_display().lower(),
                }
            )
            continue
        offer = offers.get(enrollment.business_id)
        query = urlencode({"business": enrollment.business_id, "pilot": enrollment.pilot_id})
        notes[enrollment.pk] = SiteNote(
            text=gettext("Plan offered: %(plan)s (%(status)s)")
            % {"plan": offer.plan.name, "status": offer.get_status_display().lower()}
            if offer
            else gettext("No plan yet"),
            link_text=gettext("Offer a plan"),
            link_url=f"{reverse('admin:billing_offer_add')}?{query}",
        )
    return notes
