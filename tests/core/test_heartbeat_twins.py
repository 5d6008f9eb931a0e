"""Two workers recording the first heartbeat at the same instant: both beats are counted."""

import pytest

from core.models import Heartbeat
from tests.twin_processes import twins_run

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SOURCES = 40


def test_first_heartbeats_from_two_processes_at_once_are_both_counted():
    finished = twins_run(
        f"""
        from core.services import heartbeat_record
        for n in range({SOURCES}):
            heartbeat_record(source=f"twin-{{n}}")
        """
    )

    assert [f.returncode for f in finished] == [0, 0], [f.stderr[-2000:] for f in finished]
    beats = dict(
        Heartbeat.objects.filter(source__startswith="twin-").values_list("source", "beats")
    )
    assert len(beats) == SOURCES
    assert set(beats.values()) == {2}
