"""The synthetic probe: a real HTTP journey through the form; synthetic feedback counts nowhere."""

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from core.maintenance import run_job
from core.models import MaintenanceRun
from pilots import intake, probe, selectors, services
from pilots.maintenance import report_send
from pilots.models import Feedback, Payment, ProbeRun, ScanCount
from tests.conftest import good_feedback_submit, outbox_delivered
from tests.core.test_business_metrics import scrape, value


@pytest.fixture
def probed_site(live_server, settings):
    """A live server the probe drives over HTTP."""
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()  # the database was rebuilt from its serialized copy
    settings.PROBE_BASE_URL = live_server.url
    settings.PROBE_TIMEOUT_SECONDS = 10
    return live_server


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_probe_job_drives_the_form_over_http_and_records_a_synthetic_submission(
    probed_site, client
):
    now = timezone.now()
    run_job("probe", now=now)
    # Five minutes on, from the same worker: never refused as a duplicate.
    run_job("probe", now=now + timedelta(minutes=5))

    runs = list(ProbeRun.objects.order_by("started_at"))
    assert [run.ok for run in runs] == [True, True], [run.detail for run in runs]
    assert all(run.latency_ms > 0 and run.status_code == 200 for run in runs)
    synthetic = Feedback.objects.get(is_synthetic=True, pk=Feedback.objects.earliest("pk").pk)
    assert synthetic.business.is_probe
    assert synthetic.comment == probe.PROBE_COMMENT
    assert Feedback.objects.filter(is_synthetic=True).count() == 2
    assert Feedback.objects.filter(is_synthetic=False).count() == 0
    assert not ScanCount.objects.exists()
    assert MaintenanceRun.objects.filter(job="probe", outcome="ok").count() == 2
    assert value(scrape(client), "pilotops_probe_success") == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_probe_fails_and_its_metric_drops_to_0_when_the_intake_switch_closes_the_form(
    probed_site, client
):
    now = timezone.now()
    run_job("probe", now=now)
    assert value(scrape(client), "pilotops_probe_success") == 1

    intake.intake_switch_set(is_open=False, message="Maintenance")
    run_job("probe", now=now + timedelta(minutes=5))

    last = ProbeRun.objects.latest("started_at")
    assert not last.ok
    assert last.status_code == 503
    assert last.detail == "the form did not open"
    samples = scrape(client)
    assert value(samples, "pilotops_probe_success") == 0
    assert value(samples, "pilotops_probe_latency_seconds") > 0
    # The job itself did its work: a failed probe is a measurement, not a job error.
    assert MaintenanceRun.objects.filter(job="probe", outcome="ok").count() == 2


@pytest.mark.django_db
def test_probe_that_gets_no_answer_is_recorded_as_failed(settings):
    settings.PROBE_BASE_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    settings.PROBE_TIMEOUT_SECONDS = 2

    run = probe.probe_run()

    assert not run.ok
    assert run.status_code is None
    assert run.detail.startswith("no answer")


@pytest.mark.django_db
def test_synthetic_submissions_count_in_no_kpi_reward_or_trial_limit(active_pilot, business):
    """Even if someone enrolled the probe's business, its feedback would count nowhere."""
    from pilots.services import enrollment_create

    code = probe.probe_code_ensure()
    enrollment = enrollment_create(pilot=active_pilot, business=code.business, trial_limit=1)
    real = enrollment_create(pilot=active_pilot, business=business)
    (real_code,) = services.qr_codes_generate(business=business, placements=["Table 1"])

    for n in range(3):
        good_feedback_submit(
            code, client_hash="b" * 64, contact_email=f"probe{n}@example.se", consent=True
        )
    good_feedback_submit(real_code, contact_email="anna@example.se", consent=True)

    today = timezone.localdate()
    kpis = selectors.enrollment_kpis([enrollment, real], start=today, end=today)
    enrollment.refresh_from_db()
    assert Feedback.objects.filter(is_synthetic=True).count() == 3
    assert kpis[enrollment.pk].feedback_count == 0
    assert kpis[real.pk].feedback_count == 1
    assert selectors.pilot_kpis(active_pilot, start=today, end=today).feedback_count == 1
    assert enrollment.feedback_count == 0  # the trial limit of 1 was never reached
    assert selectors.intake_state(code).is_open
    assert not Feedback.objects.filter(is_synthetic=True, reward_eligible=True).exists()
    assert Payment.objects.count() == 1
    assert not Feedback.objects.filter(is_synthetic=True, enrollment__isnull=False).exists()


@pytest.mark.django_db
def test_weekly_report_shows_the_forms_uptime_from_the_probes(staff_member):
    from core import roles

    manager = staff_member(roles.PILOT_MANAGERS)
    manager.email = "manager@example.se"
    manager.save()
    zone = timezone.get_current_timezone()
    monday = date(2026, 3, 2)
    for hour, ok in ((9, True), (10, True), (11, True), (12, False)):
        ProbeRun.objects.create(
            started_at=datetime(2026, 3, 4, hour, tzinfo=zone), ok=ok, latency_ms=120
        )
    ProbeRun.objects.create(  # the week after: not counted
        started_at=datetime(2026, 3, 9, 9, tzinfo=zone), ok=False, latency_ms=120
    )

    report_send(start=monday, end=monday + timedelta(days=6), title="weekly report")

    (message,) = outbox_delivered()
    assert "Uptime:           75.00 % of 4 synthetic journeys" in message.body


def test_probe_runs_every_5_minutes_under_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["pilots-probe"]

    assert entry["schedule"] == 300.0
    assert entry["args"] == ["probe"]


@pytest.mark.django_db
def test_probe_runs_are_listed_read_only_in_the_admin(viewer_client, admin_client):
    ProbeRun.objects.create(
        started_at=timezone.now(), ok=False, latency_ms=31, status_code=503, detail="closed"
    )

    listed = viewer_client.get("/admin/pilots/proberun/")

    assert listed.status_code == 200
    assert "closed" in listed.content.decode()
    assert admin_client.get("/admin/pilots/proberun/add/").status_code == 403
