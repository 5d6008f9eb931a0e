"""Read paths for the dashboard and the pilot success report: figures, colours, charts.

Every figure comes from the KPI selectors (`pilots.selectors`); this module
only arranges them, judges them against the pilot's targets and draws small
server-side SVG charts (the admin must work offline: no CDN, no script).
"""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from html import escape

from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from pilots.daily_figures import DayFigures, daily_figures, kpis_from_days, money_from_days
from pilots.models import Category, Enrollment, Feedback, Pilot
from pilots.selectors import (
    NO_KPIS,
    FeedbackKpis,
    ReportComments,
    local_day_bounds,
    report_comments,
)
from pilots.services import daily_metrics_store
from support.selectors import sla_attainment

GREEN, AMBER, RED, GREY = "green", "amber", "red", "grey"
# Each colour also has a sign and a word: nobody has to tell red from green.
MARKS = {GREEN: "✓", AMBER: "!", RED: "✗", GREY: ""}
VERDICTS = {
    GREEN: _("on target"),
    AMBER: _("within 85 % of target"),
    RED: _("behind target"),
    GREY: _("no data"),
}
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

    @property
    def mark(self) -> str:
        return MARKS[self.colour]

    @property
    def verdict(self) -> str:
        return VERDICTS[self.colour]


def figures_for(pilot: Pilot, kpis: FeedbackKpis, money: tuple[int, int]) -> list[Figure]:
    paid, failed = money
    success = 100 * paid / (paid + failed) if paid + failed else None
    return [
        Figure(
            _("Participation"),
            kpis.participation,
            pilot.target_participation,
            judge(kpis.participation, pilot.target_participation),
        ),
        Figure(
            _("Completion"),
            kpis.completion,
            pilot.target_completion,
            judge(kpis.completion, pilot.target_completion),
        ),
        Figure(
            _("Average quality"),
            kpis.average_quality,
            pilot.target_quality,
            judge(kpis.average_quality, pilot.target_quality),
            unit="",
        ),
        Figure(
            _("Payment success"),
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
    more: int = 0  # sites left off the board; the success report lists them all

    def needing_attention_first(self, shown: int) -> None:
        """Keep the ``shown`` sites with the most figures behind target, then amber."""
        self.sites.sort(key=_attention)
        self.more = max(len(self.sites) - shown, 0)
        del self.sites[shown:]


def _attention(site: SiteRow) -> tuple:
    figures = [figure for period in site.periods.values() for figure in period]
    behind = sum(figure.colour == RED for figure in figures)
    amber = sum(figure.colour == AMBER for figure in figures)
    name = site.enrollment.business.name
    return (-behind, -amber, name)


PERIODS = ((_("Today"), 0), (_("7 days"), 6), (_("30 days"), 29))
# Sites per pilot on the dashboard: those that most need attention. With
# hundreds of cafés in a pilot the page stays as quick to read and to render.
DASHBOARD_SITES = 12


def dashboard(*, today: date | None = None) -> list[PilotBoard]:
    """Every active pilot with its sites' figures for today, 7 and 30 days, and a chart.

    A fixed number of queries whatever the feedback table holds: the
    enrollments, then 30 days of daily figures (snapshots for closed days,
    today counted live; see ``pilots.daily_figures.daily_figures``). Each pilot
    shows the DASHBOARD_SITES sites that most need attention; charts are
    drawn for those only.
    """
    today = today or timezone.localdate()
    enrollments = list(
        Enrollment.objects.filter(
            status=Enrollment.Status.ACTIVE,
            pilot__status__in=[Pilot.Status.ACTIVE, Pilot.Status.PAUSED],
        ).select_related("business", "pilot")
    )
    month = today - timedelta(days=29)
    days = daily_figures(
        enrollments,
        start=month,
        end=today,
        today=today,
        detail=False,
        on_counted=daily_metrics_store,
    )
    boards: dict[int, PilotBoard] = {}
    for enrollment in enrollments:
        site = SiteRow(
            enrollment=enrollment,
            trial_colour=judge_trial(enrollment.feedback_count, enrollment.trial_limit),
        )
        for label, back in PERIODS:
            start = today - timedelta(days=back)
            kpis = kpis_from_days(
                enrollment, days[enrollment.pk], start=start, end=today, today=today
            )
            if not back and not (kpis.feedback_count or kpis.scans):
                kpis = NO_KPIS  # nothing yet today is no data, not 0 % behind target
            site.periods[label] = figures_for(
                enrollment.pilot, kpis, money_from_days(days[enrollment.pk], start=start, end=today)
            )
        board = boards.setdefault(enrollment.pilot_id, PilotBoard(enrollment.pilot, []))
        board.sites.append(site)
    for board in boards.values():
        board.needing_attention_first(DASHBOARD_SITES)
        for site in board.sites:
            site.chart = svg_chart(series_from_days(days[site.enrollment.pk]), today)
    return list(boards.values())


def series_from_days(days: dict[date, DayFigures]) -> dict[date, tuple[int, float]]:
    """Feedback count and average quality per day, for the chart."""
    return {
        day: (figures.submissions, figures.quality_average)
        for day, figures in days.items()
        if figures.submissions
    }


def svg_chart(points: dict[date, tuple[int, float]], end: date, days: int = 30) -> str:
    """Bars of daily feedback and a line of average quality (0-100), as inline SVG.

    With its axes labelled: feedback per day on the left (0 to the busiest
    day), quality on the right (0 to 100), the first and last day below.
    """
    left, right, top, bottom = 26, 24, 4, 14
    plot_width, plot_height, bar = days * 8, 60, 6
    width, height = left + plot_width + right, top + plot_height + bottom
    base = top + plot_height
    dates = [end - timedelta(days=days - 1 - n) for n in range(days)]
    peak = max([points.get(d, (0, 0))[0] for d in dates] + [1])
    bars, line = [], []
    for n, day in enumerate(dates):
        count, quality = points.get(day, (0, None))
        h = round(count / peak * (plot_height - 4))
        bars.append(f'<rect x="{left + n * 8 + 1}" y="{base - h}" width="{bar}" height="{h}"/>')
        if quality is not None:
            line.append(f"{left + n * 8 + 4},{round(base - quality / 100 * plot_height, 1)}")
    title = escape(
        gettext("Daily feedback (bars, max %(peak)s) and average quality (line), %(days)s days")
        % {"peak": peak, "days": days}
    )
    # "30 Nov" in English, "30 nov" in Swedish: the day-and-month format is translated.
    day_month = gettext("j M")
    first_day, last_day = (escape(date_format(day, day_month)) for day in (dates[0], dates[-1]))
    label = 'font-size="8" font-family="sans-serif" fill="#555"'
    axes = (
        f'<g stroke="#999" stroke-width="1" fill="none">'
        f'<polyline points="{left},{top} {left},{base} {left + plot_width},{base} '
        f'{left + plot_width},{top}"/></g>'
        f'<text x="{left - 2}" y="{top + 7}" text-anchor="end" {label}>{peak}</text>'
        f'<text x="{left - 2}" y="{base}" text-anchor="end" {label}>0</text>'
        f'<text x="{left + plot_width + 2}" y="{top + 7}" {label}>100</text>'
        f'<text x="{left + plot_width + 2}" y="{base}" {label}>0</text>'
        f'<text x="{left}" y="{height - 2}" {label}>{first_day}</text>'
        f'<text x="{left + plot_width}" y="{height - 2}" text-anchor="end" {label}>'
        f"{last_day}</text>"
    )
    if days >= 20:  # room between the dates for the legend
        axes += (
            f'<text x="{left + plot_width // 2}" y="{height - 2}" text-anchor="middle" {label}>'
            f"{escape(gettext('bars: feedback · line: quality'))}</text>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img"><title>{title}</title>{axes}'
        f'<g fill="#9ec5e0">{"".join(bars)}</g>'
        f'<polyline fill="none" stroke="#b35900" stroke-width="1.5" points="{" ".join(line)}"/>'
        "</svg>"
    )


# ------------------------------------------------------------------------------
# The pilot success report
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RubricRow:
    """One quality rubric's share of a report: how it scored the feedback it scored."""

    version: str
    feedback_count: int
    quality_average: float | None
    eligible_share: float | None


def rubric_rows(days: Iterable[DayFigures]) -> list[RubricRow]:
    totals: dict[str, list[int]] = {}
    for figures in days:
        for version, counts in figures.rubrics.items():
            mine = totals.setdefault(version, [0, 0, 0])
            totals[version] = [a + b for a, b in zip(mine, counts, strict=True)]
    return [
        RubricRow(
            version=version,
            feedback_count=count,
            quality_average=quality / count if count else None,
            eligible_share=100 * eligible / count if count else None,
        )
        for version, (count, quality, eligible) in sorted(totals.items())
    ]


@dataclass(frozen=True)
class SiteNote:
    """A line another app adds under a business's section (billing: the plan it chose)."""

    text: str
    link_text: str = ""
    link_url: str = ""  # an action in the admin; left out of the PDF


# Called once per report with all its enrollments, answering a note by enrollment id
# (in a fixed number of queries, whatever the number of cafés); registered from
# another app's AppConfig.ready.
SiteNotes = Callable[[list[Enrollment]], dict[int, SiteNote]]
SITE_NOTES: list[SiteNotes] = []


def site_note_register(note: SiteNotes) -> None:
    if note not in SITE_NOTES:
        SITE_NOTES.append(note)


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
    rubrics: list[RubricRow] = field(default_factory=list)
    notes: list[SiteNote] = field(default_factory=list)


@dataclass
class PilotReport:
    pilot: Pilot
    start: date
    end: date
    overall: ReportSection
    sites: list[ReportSection]
    support: dict


def report_period(pilot: Pilot, *, start: date | None, end: date | None) -> tuple[date, date]:
    today = timezone.localdate()
    start = start or pilot.starts_on
    end = end or min(pilot.ends_on, today)
    return start, max(start, end)


def pilot_report(pilot: Pilot, *, start: date, end: date) -> PilotReport:
    """The success report: every figure from daily figures, the comments through their indexes."""
    enrollments = list(pilot.enrollments.select_related("business", "pilot"))
    days = daily_figures(enrollments, start=start, end=end, on_counted=daily_metrics_store)
    length = (end - start).days + 1
    opens, closes = local_day_bounds(start, end)
    # The whole pilot needs no date filter, which lets every database read the
    # comments straight from their ordered index.
    whole = start <= pilot.starts_on and end >= min(pilot.ends_on, timezone.localdate())
    comments, all_comments = report_comments(
        [e.pk for e in enrollments], period=None if whole else (opens, closes)
    )

    def section(title, chosen: ReportComments, kpis, money, trial, per_day) -> ReportSection:
        categories = Counter()
        for figures in per_day.values():
            categories.update(figures.categories)
        return ReportSection(
            title=title,
            figures=figures_for(pilot, kpis, money),
            feedback_count=kpis.feedback_count,
            trial=trial,
            chart=svg_chart(series_from_days(per_day), end, days=min(length, 60)),
            categories=[(Category(c).label, categories[c]) for c in Category.values],
            best=chosen.best,
            worst=chosen.worst,
            paid=money[0],
            failed=money[1],
            rubrics=rubric_rows(per_day.values()),
        )

    sites, merged = [], {}
    total, total_money = NO_KPIS, (0, 0)
    site_notes = [notes(enrollments) for notes in SITE_NOTES]
    for enrollment in enrollments:
        per_day = days[enrollment.pk]
        kpis = kpis_from_days(enrollment, per_day, start=start, end=end, today=end)
        money = money_from_days(per_day, start=start, end=end)
        total, total_money = total + kpis, (total_money[0] + money[0], total_money[1] + money[1])
        for day, figures in per_day.items():
            merged[day] = merged.get(day, DayFigures()) + figures
        site = section(
            enrollment.business.name,
            comments[enrollment.pk],
            kpis,
            money,
            gettext("%(used)s of %(limit)s")
            % {"used": enrollment.feedback_count, "limit": enrollment.trial_limit},
            per_day,
        )
        site.notes = [notes[enrollment.pk] for notes in site_notes if enrollment.pk in notes]
        sites.append(site)
    overall = section(gettext("All businesses"), all_comments, total, total_money, "", merged)
    support = {
        "attainment": [
            row for row in sla_attainment(start=opens, end=closes, pilot=pilot) if row.decided
        ],
    }
    return PilotReport(pilot, start, end, overall, sites, support)
