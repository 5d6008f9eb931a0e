"""The dashboard and the success report read closed days from daily snapshots.

Today (and any closed day not snapshotted yet) is counted live; late data for
a snapshotted day recounts it; the figures stay equal to the KPI selectors.
"""

import datetime
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pilots import intake, reporting, services
from pilots.daily_figures import daily_figures
from pilots.models import DailyMetric, Feedback, Payment, ScanCount
from pilots.payments import payment_create_for_feedback
from pilots.selectors import enrollment_kpis, payment_outcomes
from tests.query_plans import query_plan, queryset_plan, scans_table, sorts_rows

pytestmark = pytest.mark.django_db

CATEGORIES = (["service"], ["price", "service"], [], ["food_drink"], ["waiting_time"])


def at(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(
        day, datetime.time(hour), tzinfo=timezone.get_current_timezone()
    )


@pytest.fixture
def month_of_feedback(make_pilot, make_business):
    """Two cafés, 35 days of feedback (some spam, some paid or failed rewards) and scans."""
    today = timezone.localdate()
    active_pilot = services.pilot_activate(
        pilot=make_pilot("Long pilot", starts_on=today - datetime.timedelta(days=40))
    )
    sites = []
    for name, customers in (("Café Nord", 80), ("Café Syd", 40)):
        cafe = make_business(name, expected_daily_customers=customers)
        enrollment = services.enrollment_create(pilot=active_pilot, business=cafe)
        (code,) = services.qr_codes_generate(business=cafe, placements=["T1"])
        sites.append(enrollment)
        for back in range(35):
            day = today - datetime.timedelta(days=back)
            ScanCount.objects.create(
                qr_code=code, business=cafe, pilot=active_pilot, day=day, scans=10 + back
            )
            for n in range(back % 4 + 1):
                eligible = n == 0
                feedback = Feedback.objects.create(
                    business=cafe,
                    pilot=active_pilot,
                    enrollment=enrollment,
                    qr_code=code,
                    rating=1 + (back + n) % 5,
                    categories=CATEGORIES[(back + n) % 5],
                    comment=f"Visit {back}-{n}: the bun was {'good' if n else 'dry'}.",
                    language="sv",
                    quality_score=(back * 7 + n * 13) % 101,
                    reward_eligible=eligible,
                    contact_email="guest@example.se" if eligible else "",
                    consent_at=timezone.now() if eligible else None,
                    status=Feedback.Status.SPAM if n == 3 else Feedback.Status.ACCEPTED,
                    client_hash=f"{back:032d}{n:032d}",
                    submitted_at=at(day, 8 + n),
                )
                if eligible:
                    payment = payment_create_for_feedback(feedback=feedback)
                    if back % 3 == 0:
                        Payment.objects.filter(pk=payment.pk).update(
                            status=Payment.Status.PAID, paid_at=at(day, 20)
                        )
                    elif back % 3 == 1:
                        Payment.objects.filter(pk=payment.pk).update(
                            status=Payment.Status.FAILED, updated_at=at(day, 21)
                        )
        enrollment.feedback_count = enrollment.feedback.exclude(status=Feedback.Status.SPAM).count()
        enrollment.save(update_fields=["feedback_count"])
    return sites


def snapshots_through_yesterday(days: int = 35) -> None:
    today = timezone.localdate()
    for back in range(1, days + 1):
        services.daily_metrics_take(day=today - datetime.timedelta(days=back))


def assert_dashboard_equals_the_selectors(enrollments) -> None:
    today = timezone.localdate()
    (board,) = reporting.dashboard(today=today)
    for label, back in reporting.PERIODS:
        start = today - datetime.timedelta(days=back)
        expected = enrollment_kpis(enrollments, start=start, end=today, today=today)
        money = payment_outcomes([e.pk for e in enrollments], start=start, end=today)
        for site in board.sites:
            figures = {figure.name: figure.value for figure in site.periods[label]}
            kpis = expected[site.enrollment.pk]
            paid, failed = money.get(site.enrollment.pk, (0, 0))
            assert figures["Participation"] == pytest.approx(kpis.participation), label
            assert figures["Completion"] == pytest.approx(kpis.completion), label
            assert figures["Average quality"] == pytest.approx(kpis.average_quality), label
            success = 100 * paid / (paid + failed) if paid + failed else None
            assert figures["Payment success"] == pytest.approx(success), label


def test_dashboard_equals_the_selectors_from_snapshots_and_live_today(month_of_feedback):
    snapshots_through_yesterday()

    assert DailyMetric.objects.count() == 2 * 35
    assert_dashboard_equals_the_selectors(month_of_feedback)


def test_dashboard_reads_closed_days_from_snapshots_not_raw_feedback(month_of_feedback):
    snapshots_through_yesterday()
    today = timezone.localdate()
    (before,) = reporting.dashboard(today=today)

    # The raw rows of closed days go (as the retention sweep purges scans); the
    # snapshots keep the figures.
    closed = Feedback.objects.filter(submitted_at__lt=at(today, 0))
    Payment.objects.filter(feedback__in=closed).delete()
    closed.delete()
    ScanCount.objects.filter(day__lt=today).delete()
    (after,) = reporting.dashboard(today=today)

    for old, new in zip(before.sites, after.sites, strict=True):
        assert new.periods == old.periods
        assert new.chart == old.chart


def test_late_data_for_a_snapshotted_day_is_counted_again(month_of_feedback, manager_client):
    snapshots_through_yesterday()
    nord = month_of_feedback[0]
    old = Feedback.objects.filter(
        enrollment=nord, status=Feedback.Status.ACCEPTED, reward_eligible=False
    ).earliest("submitted_at")
    day = timezone.localdate(old.submitted_at)
    before = DailyMetric.objects.get(enrollment=nord, day=day)

    intake.feedback_status_set(feedback=old, status=Feedback.Status.SPAM)

    after = DailyMetric.objects.get(enrollment=nord, day=day)
    assert after.submissions == before.submissions - 1
    assert after.quality_total == before.quality_total - old.quality_score
    assert_dashboard_equals_the_selectors(month_of_feedback)


def test_days_without_a_snapshot_are_counted_live(month_of_feedback):
    snapshots_through_yesterday()
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    DailyMetric.objects.filter(day__in=[yesterday, yesterday - datetime.timedelta(days=9)]).delete()

    assert_dashboard_equals_the_selectors(month_of_feedback)


def test_dashboard_keeps_closed_days_it_counted_and_then_reads_like_the_jobs_snapshots(
    month_of_feedback, manager_client
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert manager_client.get("/admin/").status_code == 200
        return len(captured)

    first = queries()  # nothing snapshotted yet: counted live, and kept
    kept = {
        (row.enrollment_id, row.day): (row.submissions, row.quality_total, row.scans)
        for row in DailyMetric.objects.all()
    }
    second = queries()
    DailyMetric.objects.all().delete()
    snapshots_through_yesterday()
    with_the_jobs = queries()

    assert kept
    for row in DailyMetric.objects.filter(day__in={day for _, day in kept}):
        assert kept[row.enrollment_id, row.day] == (row.submissions, row.quality_total, row.scans)
    assert second == with_the_jobs < first
    assert_dashboard_equals_the_selectors(month_of_feedback)


def test_dashboard_counts_only_todays_raw_feedback(month_of_feedback):
    snapshots_through_yesterday()
    today = timezone.localdate()

    with CaptureQueriesContext(connection) as captured:
        reporting.dashboard(today=today)

    feedback_reads = [q["sql"] for q in captured if 'FROM "pilots_feedback"' in q["sql"]]
    assert len(feedback_reads) == 1
    opening = at(today, 0)
    bounds = {  # how SQLite (UTC) and PostgreSQL (the connection's zone) print the bound
        opening.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        opening.astimezone(datetime.UTC).isoformat(sep=" "),
        opening.isoformat(sep=" "),
    }
    assert any(bound in feedback_reads[0] for bound in bounds), feedback_reads[0]


def test_report_equals_the_selectors_and_counts_categories(month_of_feedback):
    pilot = month_of_feedback[0].pilot
    snapshots_through_yesterday()
    start, end = timezone.localdate() - datetime.timedelta(days=20), timezone.localdate()

    report = reporting.pilot_report(pilot, start=start, end=end)

    kpis = enrollment_kpis(month_of_feedback, start=start, end=end, today=end)
    for site, enrollment in zip(report.sites, month_of_feedback, strict=True):
        figures = {figure.name: figure.value for figure in site.figures}
        assert figures["Average quality"] == pytest.approx(kpis[enrollment.pk].average_quality)
        assert site.feedback_count == kpis[enrollment.pk].feedback_count
    counted = Counter()
    for chosen in (
        Feedback.objects.filter(submitted_at__gte=at(start, 0), pilot=pilot)
        .exclude(status=Feedback.Status.SPAM)
        .values_list("categories", flat=True)
    ):
        counted.update(chosen)
    shown = dict(report.overall.categories)
    assert shown["Service"] == counted["service"] > 0
    assert shown["Price"] == counted["price"] > 0
    assert report.overall.best[0].rating == 5 and report.overall.worst[0].rating == 1


@pytest.mark.parametrize("whole", [True, False], ids=["whole pilot", "part of it"])
def test_best_and_worst_comments_take_two_index_reads_for_every_cafe_together(
    month_of_feedback, whole
):
    pilot = month_of_feedback[0].pilot
    start, end = reporting.report_period(pilot, start=None, end=None)
    if not whole:
        start = end - datetime.timedelta(days=5)
    with CaptureQueriesContext(connection) as captured:
        report = reporting.pilot_report(pilot, start=start, end=end)
    comment_reads = [
        q["sql"] for q in captured if "pilots_feedback" in q["sql"] and "LIMIT 10" in q["sql"]
    ]

    assert len(report.sites) >= 2
    assert len(comment_reads) == 2, "one read per order, for all cafés at once"
    for sql in comment_reads:
        plan = query_plan(sql.replace("ANY(%s)", "ANY(ARRAY[1,2,3])"))
        if whole:  # straight from the ordered partial index, however many rows
            assert not sorts_rows(plan), plan
            assert "pilots_fb_" in plan, plan
        else:  # the period's rows through an index range, then ordered
            assert not scans_table(plan, "pilots_feedback"), plan
    for site in report.sites:
        assert [f.rating for f in site.best] == sorted((f.rating for f in site.best), reverse=True)
        assert len({f.comment for f in site.best}) == len(site.best)


def test_report_comments_are_the_same_as_ranking_every_comment(month_of_feedback):
    pilot = month_of_feedback[0].pilot
    start, end = reporting.report_period(pilot, start=None, end=None)

    report = reporting.pilot_report(pilot, start=start, end=end)

    every = list(Feedback.objects.filter(pilot=pilot).exclude(comment="").exclude(status="spam"))

    def ranks(items):  # what decides the order; equal ranks may come in either order
        return [(f.rating, f.quality_score, f.submitted_at) for f in items]

    def first_distinct(items):
        chosen, seen = [], set()
        for item in items:
            if item.comment not in seen:
                seen.add(item.comment)
                chosen.append(item)
        return chosen[:3]

    best = sorted(every, key=lambda f: (-f.rating, -f.quality_score, -f.submitted_at.timestamp()))
    worst = sorted(every, key=lambda f: (f.rating, -f.quality_score, -f.submitted_at.timestamp()))
    assert ranks(report.overall.best) == ranks(first_distinct(best))
    assert ranks(report.overall.worst) == ranks(first_distinct(worst))
    assert len({f.comment for f in report.overall.best}) == len(report.overall.best)


def test_todays_live_count_reads_an_index_range(month_of_feedback):
    today = timezone.localdate()
    ids = [e.pk for e in month_of_feedback]
    today_only = Feedback.objects.filter(
        enrollment__in=ids, submitted_at__gte=at(today, 0)
    ).exclude(status=Feedback.Status.SPAM)

    assert not scans_table(queryset_plan(today_only), "pilots_feedback")


def test_daily_figures_of_a_day_equal_its_snapshot(month_of_feedback):
    today = timezone.localdate()
    day = today - datetime.timedelta(days=3)
    live = daily_figures(month_of_feedback, start=day, end=day, today=today)
    services.daily_metrics_take(day=day)

    for enrollment in month_of_feedback:
        snapshot = DailyMetric.objects.get(enrollment=enrollment, day=day)
        figures = live[enrollment.pk][day]
        assert snapshot.submissions == figures.submissions == 3
        assert snapshot.categories == figures.categories
        assert snapshot.quality_total == figures.quality_total
        assert (snapshot.payments_paid, snapshot.payments_failed) == (figures.paid, figures.failed)
