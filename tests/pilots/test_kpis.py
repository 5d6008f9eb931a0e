"""KPI selectors: the figures the dashboard and report will show, from two queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pilots import services
from pilots.models import Enrollment, Feedback, ScanCount
from pilots.selectors import enrollment_kpis, local_day_bounds, pilot_kpis

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 3, 10)


@pytest.fixture
def march_pilot(make_pilot, make_business):
    pilot = make_pilot(
        "March", starts_on=datetime.date(2026, 3, 1), ends_on=datetime.date(2026, 3, 31)
    )
    cafes = [
        make_business("Café A", expected_daily_customers=100),
        make_business("Café B", expected_daily_customers=50),
    ]
    enrollments = [services.enrollment_create(pilot=pilot, business=cafe) for cafe in cafes]
    return pilot, enrollments


def add(enrollment, *, on: datetime.date, score: int, eligible=False, spam=False, hour=12):
    code = (
        enrollment.business.qr_codes.first()
        or services.qr_codes_generate(business=enrollment.business, placements=["T"])[0]
    )
    zone = timezone.get_current_timezone()
    Feedback.objects.create(
        business=enrollment.business,
        pilot=enrollment.pilot,
        enrollment=enrollment,
        qr_code=code,
        rating=4,
        language="sv",
        quality_score=score,
        reward_eligible=eligible,
        contact_email="x@example.se" if eligible else "",
        consent_at=timezone.now() if eligible else None,
        status=Feedback.Status.SPAM if spam else Feedback.Status.ACCEPTED,
        client_hash="0" * 64,
        submitted_at=datetime.datetime.combine(on, datetime.time(hour), tzinfo=zone),
    )
    return code


def test_kpis_per_enrollment_from_two_queries(march_pilot):
    pilot, (a, b) = march_pilot
    code_a = add(a, on=DAY, score=80, eligible=True)
    add(a, on=DAY, score=40)
    add(a, on=DAY, score=0, spam=True)
    add(a, on=DAY + datetime.timedelta(days=1), score=60)
    add(b, on=DAY, score=90, eligible=True)
    ScanCount.objects.create(qr_code=code_a, business=a.business, pilot=pilot, day=DAY, scans=5)
    ScanCount.objects.create(
        qr_code=code_a,
        business=a.business,
        pilot=pilot,
        day=DAY + datetime.timedelta(days=1),
        scans=1,
    )
    enrollments = Enrollment.objects.select_related("business", "pilot")

    with CaptureQueriesContext(connection) as captured:
        kpis = enrollment_kpis(
            enrollments,
            start=DAY,
            end=DAY + datetime.timedelta(days=1),
            today=datetime.date(2026, 4, 1),
        )

    assert len(captured) == 3  # the enrollments themselves, then two aggregates
    a_kpis = kpis[a.pk]
    assert a_kpis.feedback_count == 3  # spam left out
    assert a_kpis.scans == 6
    assert a_kpis.days == 2
    assert a_kpis.participation == pytest.approx(100 * 3 / (100 * 2))
    assert a_kpis.completion == pytest.approx(100 * 3 / 6)
    assert a_kpis.average_quality == pytest.approx((80 + 40 + 60) / 3)
    assert a_kpis.eligible_share == pytest.approx(100 / 3)
    assert kpis[b.pk].completion is None  # no scans recorded


def test_kpis_count_only_days_the_pilot_ran(march_pilot):
    _, (a, _) = march_pilot

    kpis = enrollment_kpis(
        [Enrollment.objects.select_related("business", "pilot").get(pk=a.pk)],
        start=datetime.date(2026, 2, 20),
        end=datetime.date(2026, 3, 5),
        today=datetime.date(2026, 3, 3),
    )

    assert kpis[a.pk].days == 3  # 1, 2 and 3 March


def test_kpis_day_bounds_follow_stockholm_time(march_pilot):
    _, (a, _) = march_pilot
    add(a, on=DAY, score=70, hour=0)  # 00:00 local = 23:00 UTC the day before
    opens, closes = local_day_bounds(DAY, DAY)

    kpis = enrollment_kpis(
        [Enrollment.objects.select_related("business", "pilot").get(pk=a.pk)],
        start=DAY,
        end=DAY,
        today=datetime.date(2026, 4, 1),
    )

    assert opens.utcoffset() == datetime.timedelta(hours=1)
    assert closes - opens == datetime.timedelta(days=1)
    assert kpis[a.pk].feedback_count == 1


def test_pilot_kpis_sum_the_enrollments(march_pilot):
    pilot, (a, b) = march_pilot
    add(a, on=DAY, score=80)
    add(b, on=DAY, score=40)

    total = pilot_kpis(pilot, start=DAY, end=DAY, today=datetime.date(2026, 4, 1))

    assert total.feedback_count == 2
    assert total.average_quality == 60
    assert total.expected_customers == 150
    assert total.participation == pytest.approx(100 * 2 / 150)
