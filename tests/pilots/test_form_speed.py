"""The feedback form near a bare view: scans counted in the cache and flushed each minute,
the code's intake facts cached and dropped on every change, no query it does not need."""

import datetime
import time
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pilots import intake, selectors, services
from pilots.models import Business, DailyMetric, ScanCount

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what a change queues for after its commit (the test's transaction never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def counted_in_cache(settings):
    settings.SCAN_COUNTS_IN_CACHE = True


def visit(client, code, address: str, **extra):
    return client.get(f"/q/{code.token}/", REMOTE_ADDR=address, **extra)


def flush() -> str:
    """What the every-minute scan_flush job does (run here more often than once a minute)."""
    return f"{intake.scans_flush(now=timezone.now())} scan(s)"


def scans_of(code) -> int:
    return sum(ScanCount.objects.filter(qr_code=code).values_list("scans", flat=True))


def test_form_view_with_warm_facts_runs_no_query(client, open_code, counted_in_cache):
    assert visit(client, open_code, "10.0.0.1").status_code == 200

    with CaptureQueriesContext(connection) as captured:
        response = visit(client, open_code, "10.0.0.2")

    assert response.status_code == 200
    assert "Café Aurora" in response.content.decode()
    assert [q["sql"] for q in captured] == []


def test_scans_counted_in_the_cache_reach_the_daily_rows_once(client, open_code, counted_in_cache):
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1"):
        visit(client, open_code, address)
    assert scans_of(open_code) == 0  # nothing written per view

    assert flush().startswith("3 scan(s)")
    assert scans_of(open_code) == 3
    assert flush().startswith("0 scan(s)")
    assert scans_of(open_code) == 3

    visit(client, open_code, "10.0.0.4")
    flush()
    assert scans_of(open_code) == 4
    row = ScanCount.objects.get(qr_code=open_code)
    assert (row.business_id, row.pilot_id) == (
        open_code.business_id,
        open_code.business.enrollments.get().pilot_id,
    )


def test_two_flushes_reading_the_same_counter_settle_to_the_true_count(
    client, open_code, counted_in_cache
):
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        visit(client, open_code, address)
    read_by_both = cache.get_many
    seen = {}

    def same_answer_twice(keys):
        if not seen:
            seen.update(read_by_both(keys))
        return dict(seen)

    with mock.patch.object(cache, "get_many", same_answer_twice):
        flush()
        flush()  # a second worker that read the counter before the first one moved it
    assert scans_of(open_code) == 6

    flush()

    assert scans_of(open_code) == 3


def test_late_scans_recount_a_snapshotted_day(open_code, enrolled, counted_in_cache):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    services.daily_metrics_take(day=yesterday)
    state = selectors.intake_state(open_code)
    for client_hash in ("a" * 64, "b" * 64):
        intake.scan_record(state=state, client_hash=client_hash, day=yesterday)

    flush()

    assert DailyMetric.objects.get(enrollment=enrolled, day=yesterday).scans == 2


def test_embedded_cache_writes_each_counted_scan_at_once(client, open_code, settings):
    settings.SCAN_COUNTS_IN_CACHE = False

    visit(client, open_code, "10.0.0.1")
    visit(client, open_code, "10.0.0.1")
    visit(client, open_code, "10.0.0.2")

    assert scans_of(open_code) == 2


def test_cached_facts_are_dropped_when_the_code_is_revoked(client, open_code, committed):
    assert visit(client, open_code, "10.0.0.1").status_code == 200

    with committed():
        services.qr_code_revoke(qr_code=open_code)

    assert visit(client, open_code, "10.0.0.2").status_code == 410


def test_cached_facts_are_dropped_when_the_pilot_pauses(client, open_code, enrolled, committed):
    assert visit(client, open_code, "10.0.0.1").status_code == 200

    with committed():
        services.pilot_pause(pilot=enrolled.pilot)
    assert visit(client, open_code, "10.0.0.2").status_code == 503

    with committed():
        services.pilot_resume(pilot=enrolled.pilot)
    assert visit(client, open_code, "10.0.0.3").status_code == 200


def test_cached_facts_are_dropped_when_intake_is_switched_off(client, open_code, committed):
    assert visit(client, open_code, "10.0.0.1").status_code == 200

    with committed():
        intake.intake_switch_set(is_open=False, message="Back at noon")

    response = visit(client, open_code, "10.0.0.2")
    assert response.status_code == 503
    assert "Back at noon" in response.content.decode()


def test_cached_facts_are_dropped_when_a_manager_pauses_the_business(
    client, manager_client, open_code, committed
):
    business = open_code.business
    assert visit(client, open_code, "10.0.0.1").status_code == 200
    data = {
        field: getattr(business, field)
        for field in ("name", "slug", "city", "address", "timezone", "language")
    } | {
        "status": Business.Status.PAUSED,
        "expected_daily_customers": business.expected_daily_customers,
        "contact_name": "",
        "contact_email": "",
        "contact_phone": "",
        "peak_hours": "",
        "context": "",
    }
    for prefix in ("enrollments", "qr_codes", "core-event-subject_type-subject_id"):
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}

    with committed():
        response = manager_client.post(f"/admin/pilots/business/{business.pk}/change/", data)
    assert response.status_code == 302

    assert Business.objects.get(pk=business.pk).status == Business.Status.PAUSED
    assert visit(client, open_code, "10.0.0.2").status_code == 503


def test_form_says_full_as_soon_as_the_trial_limit_is_reached(
    client, open_code, enrolled, committed
):
    from tests.conftest import good_feedback_submit

    with committed():
        services.enrollment_trial_limit_set(enrollment=enrolled, trial_limit=1)
    assert visit(client, open_code, "10.0.0.1").status_code == 200

    with committed():
        good_feedback_submit(open_code)

    assert visit(client, open_code, "10.0.0.2").status_code == 410


def test_cached_facts_expire_after_their_time(client, open_code, settings):
    settings.INTAKE_FACTS_CACHE_SECONDS = 1
    visit(client, open_code, "10.0.0.1")
    Business.objects.filter(pk=open_code.business_id).update(status=Business.Status.PAUSED)

    assert visit(client, open_code, "10.0.0.2").status_code == 200  # not through a service
    time.sleep(1.2)
    assert visit(client, open_code, "10.0.0.3").status_code == 503
