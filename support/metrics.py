"""Support's gauges on /metrics: open tickets, breached ones and open incidents.

Breaches are marked by the every-minute sweep in a Celery worker, whose
counters no web process sees: the alert on P0 breaches reads the tickets.
"""

from datetime import datetime

from django.db.models import Count, Q
from prometheus_client.core import GaugeMetricFamily

from support.models import Incident, Priority, Ticket


def support_gauges(now: datetime) -> list:
    tickets = GaugeMetricFamily(
        "pilotops_open_tickets", "Open tickets by priority.", labels=["priority"]
    )
    breached = GaugeMetricFamily(
        "pilotops_breached_open_tickets",
        "Open tickets past a response or resolution due time, by priority.",
        labels=["priority"],
    )
    breached_by_priority = dict.fromkeys(Priority.values, 0)
    for row in (
        Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES)
        .filter(Q(response_breached_at__isnull=False) | Q(resolution_breached_at__isnull=False))
        .values("priority")
        .annotate(n=Count("id"))
        .order_by()
    ):
        breached_by_priority[row["priority"]] = row["n"]
    for priority, count in breached_by_priority.items():
        breached.add_metric([priority], count)
    for row in (
        Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES)
        .values("priority")
        .annotate(n=Count("id"))
        .order_by()
    ):
        tickets.add_metric([row["priority"]], row["n"])

    incidents = GaugeMetricFamily(
        "pilotops_open_incidents", "Open incidents by severity.", labels=["severity"]
    )
    for row in (
        Incident.objects.exclude(status=Incident.Status.RESOLVED)
        .values("severity")
        .annotate(n=Count("id"))
        .order_by()
    ):
        incidents.add_metric([row["severity"]], row["n"])

    return [tickets, breached, incidents]
