"""Daily figures: the snapshots the dashboard and the success report read for closed days,
counted live for the rest, and figures per business over a stretch of time (rollout guards).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import (
    Case,
    Count,
    DateField,
    Q,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.utils import timezone

from pilots.models import (
    Category,
    DailyMetric,
    Enrollment,
    Payment,
    ScanCount,
)
from pilots.scoring import RUBRICS
from pilots.selectors import FeedbackKpis, days_running, feedback_counted, local_day_bounds


@dataclass
class DayFigures:
    """One enrollment's figures for one local day (a DailyMetric, or counted live)."""

    submissions: int = 0  # spam left out, as in the KPIs
    eligible: int = 0
    quality_total: int = 0
    scans: int = 0
    paid: int = 0
    failed: int = 0
    categories: dict[str, int] = field(default_factory=dict)
    # Per quality rubric version ("1", "2"): [submissions, quality total, eligible].
    rubrics: dict[str, list[int]] = field(default_factory=dict)

    @property
    def quality_average(self) -> float | None:
        return self.quality_total / self.submissions if self.submissions else None

    def __add__(self, other: "DayFigures") -> "DayFigures":
        categories = dict(self.categories)
        for category, count in other.categories.items():
            categories[category] = categories.get(category, 0) + count
        rubrics = {version: list(counts) for version, counts in self.rubrics.items()}
        for version, counts in other.rubrics.items():
            mine = rubrics.setdefault(version, [0, 0, 0])
            rubrics[version] = [a + b for a, b in zip(mine, counts, strict=True)]
        return DayFigures(
            submissions=self.submissions + other.submissions,
            eligible=self.eligible + other.eligible,
            quality_total=self.quality_total + other.quality_total,
            scans=self.scans + other.scans,
            paid=self.paid + other.paid,
            failed=self.failed + other.failed,
            categories=categories,
            rubrics=rubrics,
        )


def _day_of(field_name: str, days: list[date]) -> Case:
    """The local day of ``field_name``, among ``days`` (a CASE: cheap on both databases)."""
    whens = []
    for day in days:
        opens, closes = local_day_bounds(day, day)
        whens.append(
            When(**{f"{field_name}__gte": opens, f"{field_name}__lt": closes}, then=Value(day))
        )
    return Case(*whens, output_field=DateField())


def _within(field_name: str, days: list[date]) -> Q:
    """Rows whose ``field_name`` falls on one of ``days`` (contiguous days make one range)."""
    condition = Q(pk__in=[])
    for first, last in _runs(days):
        opens, closes = local_day_bounds(first, last)
        condition |= Q(**{f"{field_name}__gte": opens, f"{field_name}__lt": closes})
    return condition


def _runs(days: list[date]) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] == day - timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def figures_counted(
    enrollments: Iterable[Enrollment], days: dict[int, list[date]]
) -> dict[int, dict[date, DayFigures]]:
    """Count each enrollment's figures on each of its ``days`` from the raw rows: three queries.

    Feedback by submission time; scans from the daily scan rows; payments paid
    by when they were paid, failed by when they last changed (as
    ``payment_outcomes``).
    """
    enrollments = {e.pk: e for e in enrollments if days.get(e.pk)}
    figures = {pk: {day: DayFigures() for day in days[pk]} for pk in enrollments}
    if not enrollments:
        return figures
    every_day = sorted({day for pk in enrollments for day in days[pk]})
    alike: dict[tuple[date, ...], list[int]] = {}
    for pk in enrollments:
        alike.setdefault(tuple(sorted(days[pk])), []).append(pk)
    wanted = Q(pk__in=[])
    for group_days, group in alike.items():
        wanted |= Q(enrollment__in=group) & _within("submitted_at", list(group_days))
    # Categories are a JSON list of known values; each one's quoted text is unique in it.
    counted = (
        feedback_counted()
        .filter(wanted)
        .annotate(
            day=_day_of("submitted_at", every_day),
            categories_text=Cast("categories", TextField()),
        )
        .values("enrollment", "day")
        .annotate(
            submissions=Count("id"),
            eligible=Count("id", filter=Q(reward_eligible=True)),
            quality_total=Sum("quality_score"),
            **{
                f"category_{value}": Count("id", filter=Q(categories_text__contains=f'"{value}"'))
                for value in Category.values
            },
            **{
                f"rubric_{version}_{name}": aggregate
                for version in RUBRICS
                for name, aggregate in (
                    ("submissions", Count("id", filter=Q(quality_rubric=version))),
                    ("quality", Sum("quality_score", filter=Q(quality_rubric=version))),
                    (
                        "eligible",
                        Count("id", filter=Q(quality_rubric=version, reward_eligible=True)),
                    ),
                )
            },
        )
        .order_by()
    )
    for row in counted:
        day_figures = figures[row["enrollment"]].get(row["day"])
        if day_figures is None:
            continue
        day_figures.submissions = row["submissions"]
        day_figures.eligible = row["eligible"]
        day_figures.quality_total = row["quality_total"] or 0
        day_figures.categories = {
            value: row[f"category_{value}"] for value in Category.values if row[f"category_{value}"]
        }
        day_figures.rubrics = {
            str(version): [
                row[f"rubric_{version}_submissions"],
                row[f"rubric_{version}_quality"] or 0,
                row[f"rubric_{version}_eligible"],
            ]
            for version in RUBRICS
            if row[f"rubric_{version}_submissions"]
        }

    by_site = {(e.business_id, e.pilot_id): pk for pk, e in enrollments.items()}
    scans = (
        ScanCount.objects.filter(
            business__in={e.business_id for e in enrollments.values()},
            pilot__in={e.pilot_id for e in enrollments.values()},
            day__in=every_day,
        )
        .values("business", "pilot", "day")
        .annotate(scans=Sum("scans"))
        .order_by()
    )
    for row in scans:
        pk = by_site.get((row["business"], row["pilot"]))
        if pk is not None and row["day"] in figures[pk]:
            figures[pk][row["day"]].scans = row["scans"]

    paid = Q(status=Payment.Status.PAID) & _within("paid_at", every_day)
    failed = Q(status=Payment.Status.FAILED) & _within("updated_at", every_day)
    outcomes = (
        Payment.objects.filter(feedback__enrollment__in=list(enrollments))
        .filter(paid | failed)
        .annotate(
            paid_day=_day_of("paid_at", every_day), failed_day=_day_of("updated_at", every_day)
        )
        .values("feedback__enrollment", "status", "paid_day", "failed_day")
        .annotate(count=Count("id"))
        .order_by()
    )
    for row in outcomes:
        is_paid = row["status"] == Payment.Status.PAID
        day = row["paid_day"] if is_paid else row["failed_day"]
        day_figures = figures[row["feedback__enrollment"]].get(day)
        if day_figures is None:
            continue
        if is_paid:
            day_figures.paid += row["count"]
        else:
            day_figures.failed += row["count"]
    return figures


def daily_figures(
    enrollments: Iterable[Enrollment],
    *,
    start: date,
    end: date,
    today: date | None = None,
    detail: bool = True,
    on_counted: Callable[[dict[int, Enrollment], dict[int, dict[date, DayFigures]]], object]
    | None = None,
) -> dict[int, dict[date, DayFigures]]:
    """Each enrollment's figures per local day in ``start``..``end``, read cheaply.

    Closed days come from their DailyMetric snapshot (one query); today, and
    any closed day not snapshotted yet, are counted live by
    ``figures_counted`` from index ranges of those days only. So the cost
    follows the number of sites and days, not the feedback table, and the
    figures equal the KPI selectors'. Without ``detail`` the snapshots'
    category and rubric counts are left unread (the dashboard shows neither).
    Closed days that had to be counted live are handed to ``on_counted``, so
    the caller can keep them as snapshots: they are counted once, not on
    every read.
    """
    enrollments = list(enrollments)
    today = today or timezone.localdate()
    figures: dict[int, dict[date, DayFigures]] = {e.pk: {} for e in enrollments}
    closed = min(end, today - timedelta(days=1))
    snapshots = DailyMetric.objects.filter(
        enrollment__in=[e.pk for e in enrollments], day__gte=start, day__lte=closed
    ).values_list(
        "enrollment",
        "day",
        "submissions",
        "eligible",
        "quality_total",
        "scans",
        "payments_paid",
        "payments_failed",
        *(("categories", "rubrics") if detail else ()),
    )
    for enrollment_id, day, *values in snapshots:
        figures[enrollment_id][day] = DayFigures(*values)
    last = min(end, today)
    span = [start + timedelta(days=n) for n in range((last - start).days + 1)]
    uncovered = {e.pk: [day for day in span if day not in figures[e.pk]] for e in enrollments}
    counted = figures_counted(enrollments, uncovered)
    for enrollment_id, days in counted.items():
        figures[enrollment_id].update(days)
    closed_days = {
        pk: {day: f for day, f in days.items() if day < today} for pk, days in counted.items()
    }
    if on_counted is not None and any(closed_days.values()):
        on_counted({e.pk: e for e in enrollments}, closed_days)
    return figures


def kpis_from_days(
    enrollment: Enrollment, days: dict[date, DayFigures], *, start: date, end: date, today: date
) -> FeedbackKpis:
    """The KPIs of ``start``..``end`` from daily figures (equal to ``enrollment_kpis``)."""
    chosen = [figures for day, figures in days.items() if start <= day <= end]
    running = days_running(enrollment.pilot, start, end, today)
    return FeedbackKpis(
        feedback_count=sum(f.submissions for f in chosen),
        eligible_count=sum(f.eligible for f in chosen),
        scans=sum(f.scans for f in chosen),
        days=running,
        expected_customers=enrollment.business.expected_daily_customers * running,
        quality_total=sum(f.quality_total for f in chosen),
    )


def money_from_days(days: dict[date, DayFigures], *, start: date, end: date) -> tuple[int, int]:
    """(paid, failed) rewards in ``start``..``end`` from daily figures."""
    chosen = [figures for day, figures in days.items() if start <= day <= end]
    return sum(f.paid for f in chosen), sum(f.failed for f in chosen)


# ------------------------------------------------------------------------------
# Figures per business over a stretch of time (rollout guards)
# ------------------------------------------------------------------------------
def business_figures(*, since: datetime, until: datetime) -> dict[int, DayFigures]:
    """Each business's figures in [since, until): three grouped queries in all.

    Feedback (spam left out) by submission time; payments paid by when they
    were paid, failed by when they last changed; scans from the daily rows of
    the local days the stretch touches (scans are counted per day).
    """
    figures: dict[int, DayFigures] = {}

    def of(business_id: int) -> DayFigures:
        return figures.setdefault(business_id, DayFigures())

    for row in (
        feedback_counted()
        .filter(submitted_at__gte=since, submitted_at__lt=until)
        .values("business")
        .annotate(submissions=Count("id"), quality_total=Sum("quality_score"))
        .order_by()
    ):
        of(row["business"]).submissions = row["submissions"]
        of(row["business"]).quality_total = row["quality_total"] or 0
    first_day, last_day = timezone.localdate(since), timezone.localdate(until)
    for row in (
        ScanCount.objects.filter(day__gte=first_day, day__lte=last_day)
        .values("business")
        .annotate(scans=Sum("scans"))
        .order_by()
    ):
        of(row["business"]).scans = row["scans"] or 0
    paid = Q(status=Payment.Status.PAID, paid_at__gte=since, paid_at__lt=until)
    failed = Q(status=Payment.Status.FAILED, updated_at__gte=since, updated_at__lt=until)
    for row in (
        Payment.objects.filter(paid | failed)
        .values("business")
        .annotate(paid=Count("id", filter=paid), failed=Count("id", filter=failed))
        .order_by()
    ):
        of(row["business"]).paid = row["paid"]
        of(row["business"]).failed = row["failed"]
    return figures
