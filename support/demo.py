"""Demo support data: a staff link per demo café and a few tickets in different states.

Idempotent: staff links are issued once, tickets are found by their dedupe keys.
"""

from datetime import timedelta

from django.utils import timezone

from pilots.demo import CAFES
from pilots.models import Business
from support import services
from support.models import StaffLink, Ticket

DEMO_TICKETS = (
    # key, title, priority, category, hours ago, status
    ("qr", "QR code at Table 3 does not scan", "P2", Ticket.Category.QR_CODE, 30, "in_progress"),
    ("reward", "Customer did not get the 10 kr reward", "P2", Ticket.Category.REWARD, 3, "waiting"),
    ("slow", "Feedback form slow on café Wi-Fi", "P1", Ticket.Category.OUTAGE, 5, "new"),
    ("menu", "Add the new lunch menu categories?", "P3", Ticket.Category.OTHER, 1, "triaged"),
)


def demo_seed() -> str:
    """Staff links and tickets for the demo cafés, and what ``seed_demo`` says of them."""
    by_slug = Business.objects.in_bulk([cafe["slug"] for cafe in CAFES], field_name="slug")
    businesses = [by_slug[cafe["slug"]] for cafe in CAFES if cafe["slug"] in by_slug]
    if not businesses:
        return "Support: no demo cafés, so no staff links or demo tickets."
    tickets = demo_support_seed(businesses=businesses)
    return f"Support: staff links in place; {tickets} new demo ticket(s)."


def demo_support_seed(*, businesses) -> int:
    """Returns how many tickets were opened now."""
    for business in businesses:
        if not StaffLink.objects.filter(business=business, status=StaffLink.Status.ACTIVE).exists():
            services.staff_link_issue(business=business)
    opened = 0
    now = timezone.now()
    for index, (key, title, priority, category, hours, status) in enumerate(DEMO_TICKETS):
        dedupe_key = f"demo:{key}"
        if Ticket.objects.filter(dedupe_key=dedupe_key).exists():
            continue
        ticket = services.ticket_create(
            title=title,
            priority=priority,
            category=category,
            source=Ticket.Source.STAFF_LINK,
            business=businesses[index % len(businesses)],
            dedupe_key=dedupe_key,
            now=now - timedelta(hours=hours),
        )
        Ticket.objects.filter(pk=ticket.pk).update(created_at=now - timedelta(hours=hours))
        if status != "new":
            services.ticket_set_status(ticket=ticket, status=status)
        opened += 1
    services.sla_sweep(now=now)
    return opened
