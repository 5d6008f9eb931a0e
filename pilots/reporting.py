"""Read paths for the dashboard and the pilot success report: figures, colours, charts.

Every figure comes from the KPI selectors (`pilots.selectors`); this module
only arranges them, judges them against the pilot's targets and draws small
server-side SVG charts (the admin must work offline: no CDN, no script).
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from html import escape

from django.db.models import Avg, Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from pilots.models import Category, Enrollment, Feedback, Pilot
from pilots.selectors import (
    FeedbackKpis,
    enrollment_kpis,
    local_day_bounds,
    payment_outcomes,
)
from support.selectors import sla_attainment

GREEN, AMBER, RED, GREY = "green", "amber", "red", "grey"
AMBER_SHARE = Decimal("0.85")  # within 85 % of a target is amber, below is red


def judge(value: float | None, target: Decimal) -> str:
    if value is None:
        return GREY
    if Decimal(str(value)) >= target:
        return GREEN
    return AMBER if Decimal(str(value)) >= target * AMBER_SHARE else RED


def judge_trial(used: int, limit: int) -> str:
    share = used / limit if limit else 1
    return GREEN if share < 0.8 else AMBER if share < 1 else RED


@dataclass(frozen=True)
class Figure:
    name: str
    value: float | None
    target: Decimal | None
    colour: str
    unit: str = "%"

    @property
    def passed(self) -> bool:
        return self.colour == GREEN


def figures_for(pilot: Pilot, kpis: FeedbackKpis, money: tuple[int, int]) -> list[Figure]:
    paid, failed = money
    success = 100 * paid / (paid + failed) if paid + failed else None
    return [
        Figure(
            "Participation",
            kpis.participation,
            pilot.target_participation,
            judge(kpis.participation, pilot.target_participation),
        ),
        Figure(
            "Completion",
            kpis.completion,
            pilot.target_completion,
            judge(kpis.completion, pilot.target_completion),
        ),
        Figure(
            "Average quality",
            kpis.average_quality,
            pilot.target_quality,
            judge(kpis.average_quality, pilot.target_quality),
            unit="",
        ),
        Figure(
            "Payment success",
            success,
            pilot.target_payment_success,
            judge(success, pilot.target_payment_success),
        ),
    ]


@dataclass
class SiteRow:
    enrollment: Enrollment
    periods: dict[str, list[Figure]] = field(default_factory=dict)
    trial_colour: str = GREY
    chart: str = ""


@dataclass
class PilotBoard:
    pilot: Pilot
    sites: list[SiteRow]


PERIODS = (("Today", 0), ("7 days", 6), ("30 days", 29))


def dashboard(*, today: date | None = None) -> list[PilotBoard]:
    """Every active pilot with each site's figures for today, 7 and 30 days, and a chart.

    A fixed number of queries: the enrollments, two per period for KPIs and
    one for payments, one for the chart series.
    """
    today = today or timezone.localdate()
    enrollments = list(
        Enrollment.objects.filter(
            status=Enrollment.Status.ACTIVE,
            pilot__status__in=[Pilot.Status.ACTIVE, Pilot.Status.PAUSED],
        ).select_related("business", "pilot")
    )
    ids = [e.pk for e in enrollments]
    rows = {
        e.pk: SiteRow(enrollment=e, trial_colour=judge_trial(e.feedback_count, e.trial_limit))
        for e in enrollments
    }
    for label, back in PERIODS:
        start = today - timedelta(days=back)
        kpis = enrollment_kpis(enrollments, start=start, end=today, today=today)
        money = payment_outcomes(ids, start=start, end=today)
        for enrollment in enrollments:
            rows[enrollment.pk].periods[label] = figures_for(
                enrollment.pilot, kpis[enrollment.pk], money.get(enrollment.pk, (0, 0))
            )
    series = daily_series(ids, today - timedelta(days=29), today)
    for enrollment in enrollments:
        rows[enrollment.pk].chart = svg_chart(series.get(enrollment.pk, {}), today)
    boards: dict[int, PilotBoard] = {}
    for enrollment in enrollments:
        board = boards.setdefault(enrollment.pilot_id, PilotBoard(enrollment.pilot, []))
        board.sites.append(rows[enrollment.pk])
    return list(boards.values())


def daily_series(
    enrollment_ids: list[int], start: date, end: date
) -> dict[int, dict[date, tuple[int, float]]]:
    """Feedback count and average quality per enrollment and local day: one query."""
    opens, closes = local_day_bounds(start, end)
    rows = (
        Feedback.objects.filter(
            enrollment__in=enrollment_ids, submitted_at__gte=opens, submitted_at__lt=closes
        )
        .exclude(status=Feedback.Status.SPAM)
        .annotate(day=TruncDate("submitted_at", tzinfo=timezone.get_current_timezone()))
        .values("enrollment", "day")
        .annotate(count=Count("id"), quality=Avg("quality_score"))
        .order_by()
    )
    series: dict[int, dict[date, tuple[int, float]]] = {}
    for row in rows:
        series.setdefault(row["enrollment"], {})[row["day"]] = (row["count"], row["quality"])
    return series


def svg_chart(points: dict[date, tuple[int, float]], end: date, days: int = 30) -> str:
    """Bars of daily feedback and a line of average quality (0-100), as inline SVG."""
    width, height, bar = days * 8, 60, 6
    dates = [end - timedelta(days=days - 1 - n) for n in range(days)]
    peak = max([points.get(d, (0, 0))[0] for d in dates] + [1])
    bars, line = [], []
    for n, day in enumerate(dates):
        count, quality = points.get(day, (0, None))
        h = round(count / peak * (height - 4))
        bars.append(f'<rect x="{n * 8 + 1}" y="{height - h}" width="{bar}" height="{h}"/>')
        if quality is not None:
            line.append(f"{n * 8 + 4},{round(height - quality / 100 * height, 1)}")
    title = escape(f"Daily feedback (bars, max {peak}) and average quality (line), {days} days")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img"><title>{title}</title>'
        f'<g fill="#9ec5e0">{"".join(bars)}</g>'
        f'<polyline fill="none" stroke="#b35900" stroke-width="1.5" points="{" ".join(line)}"/>'
        "</svg>"
    )


# ------------------------------------------------------------------------------
# The pilot success report
# ------------------------------------------------------------------------------
@dataclass
class ReportSection:
    title: str
    figures: list[Figure]
    feedback_count: int
    trial: str
    chart: str
    categories: list[tuple[str, int]]
    best: list[Feedback]
    worst: list[Feedback]
    paid: int
    failed: int


@dataclass
class PilotReport:
    pilot: Pilot
    start: date
    end: date
    overall: ReportSection
    sites: list[ReportSection]
    support: dict


def _distinct_comments(feedback, count: int = 3, looked_at: int = 50) -> list[Feedback]:
    """The first ``count`` feedback whose comments differ (repeats say nothing new)."""
    chosen, seen = [], set()
    for item in feedback[:looked_at]:
        if item.comment not in seen:
            seen.add(item.comment)
            chosen.append(item)
        if len(chosen) == count:
            break
    return chosen


def report_period(pilot: Pilot, *, start: date | None, end: date | None) -> tuple[date, date]:
    today = timezone.localdate()
    start = start or pilot.starts_on
    end = end or min(pilot.ends_on, today)
    return start, max(start, end)


def pilot_report(pilot: Pilot, *, start: date, end: date) -> PilotReport:
    enrollments = list(pilot.enrollments.select_related("business", "pilot"))
    ids = [e.pk for e in enrollments]
    kpis = enrollment_kpis(enrollments, start=start, end=end, today=end)
    money = payment_outcomes(ids, start=start, end=end)
    series = daily_series(ids, start, end)
    days = (end - start).days + 1
    opens, closes = local_day_bounds(start, end)
    in_period = Feedback.objects.filter(
        enrollment__in=ids, submitted_at__gte=opens, submitted_at__lt=closes
    ).exclude(status=Feedback.Status.SPAM)

    def section(title, selected, figures_kpis, paid_failed, trial, points) -> ReportSection:
        chosen = in_period.filter(enrollment__in=[e.pk for e in selected])
        categories = Counter()
        for chosen_categories in chosen.values_list("categories", flat=True).iterator():
            categories.update(chosen_categories or [])
        commented = chosen.exclude(comment="").only(
            "rating", "comment", "quality_score", "submitted_at", "business"
        )
        return ReportSection(
            title=title,
            figures=figures_for(pilot, figures_kpis, paid_failed),
            feedback_count=figures_kpis.feedback_count,
            trial=trial,
            chart=svg_chart(points, end, days=min(days, 60)),
            categories=[(Category(c).label, categories[c]) for c in Category.values],
            best=_distinct_comments(
                commented.order_by("-rating", "-quality_score", "-submitted_at")
            ),
            worst=_distinct_comments(
                commented.order_by("rating", "-quality_score", "-submitted_at")
            ),
            paid=paid_failed[0],
            failed=paid_failed[1],
        )

    sites = []
    total = sum(kpis.values(), FeedbackKpis(0, 0, 0, 0, 0, 0))
    total_money = (
        sum(money.get(i, (0, 0))[0] for i in ids),
        sum(money.get(i, (0, 0))[1] for i in ids),
    )
    merged: dict[date, tuple[int, float]] = {}
    for enrollment in enrollments:
        points = series.get(enrollment.pk, {})
        for day, (count, quality) in points.items():
            old_count, old_quality = merged.get(day, (0, 0.0))
            merged[day] = (
                old_count + count,
                (old_quality * old_count + quality * count) / (old_count + count),
            )
        sites.append(
            section(
                enrollment.business.name,
                [enrollment],
                kpis[enrollment.pk],
                money.get(enrollment.pk, (0, 0)),
                f"{enrollment.feedback_count} of {enrollment.trial_limit}",
                points,
            )
        )
    overall = section("All businesses", enrollments, total, total_money, "", merged)
    support = {
        "attainment": [
            row for row in sla_attainment(start=opens, end=closes, pilot=pilot) if row.decided
        ],
    }
    return PilotReport(pilot, start, end, overall, sites, support)
