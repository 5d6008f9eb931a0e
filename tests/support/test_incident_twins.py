"""Two processes receiving the same new alerts at the same instant open one incident each."""

import pytest

from support.models import Incident
from tests.twin_processes import twins_run

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ALERTS = 30


def test_the_same_new_alert_received_twice_at_once_opens_one_incident():
    finished = twins_run(
        f"""
        from support.incidents import Alert, alert_receive
        incidents = [
            alert_receive(
                Alert(
                    status="firing",
                    fingerprint=f"twin{{n:04d}}",
                    name="PilotOpsHigh5xxRate",
                    severity="SEV2",
                    business_slug="",
                    summary="More than 1 % of responses are 5xx errors",
                    starts_at="",
                )
            )
            for n in range({ALERTS})
        ]
        print("INCIDENTS", [incident.pk for incident in incidents])
        """
    )

    assert [f.returncode for f in finished] == [0, 0], [f.stderr[-2000:] for f in finished]
    seen = [next(x for x in f.stdout.splitlines() if x.startswith("INCIDENTS")) for f in finished]
    assert seen[0] == seen[1], "both deliveries found the same incident for every alert"
    incidents = Incident.objects.filter(alert_fingerprint__startswith="twin")
    assert incidents.count() == ALERTS
    for incident in incidents:
        assert incident.updates.count() == 1, "declared once, the repeat changed nothing"
        assert incident.alert_status == "firing"
