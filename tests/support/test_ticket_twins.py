"""Two processes opening the same deduplicated tickets at the same instant share them."""

import pytest

from support.models import Ticket
from tests.twin_processes import twins_run

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

KEYS = 40


def test_ticket_create_with_a_dedupe_key_returns_the_twins_ticket():
    finished = twins_run(
        f"""
        from support.services import ticket_create
        tickets = [
            ticket_create(title=f"Check {{n}}", source="system", dedupe_key=f"twin:{{n}}")
            for n in range({KEYS})
        ]
        print("TICKETS", [ticket.pk for ticket in tickets])
        print("EVENTS", [ticket.events.count() for ticket in tickets])
        """
    )

    assert [f.returncode for f in finished] == [0, 0], [f.stderr[-2000:] for f in finished]
    seen = [
        next(line for line in f.stdout.splitlines() if line.startswith("TICKETS")) for f in finished
    ]
    assert seen[0] == seen[1], "both processes got the same ticket for every key"
    assert Ticket.objects.filter(dedupe_key__startswith="twin:").count() == KEYS
    for ticket in Ticket.objects.filter(dedupe_key__startswith="twin:"):
        assert ticket.events.filter(kind="created").count() == 1
        assert ticket.reference == f"PO-{ticket.pk:05d}"
