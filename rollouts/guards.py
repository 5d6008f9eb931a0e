"""The guards of a rollout: what must stay green before a stage is promoted.

Every guard reads the current stage, from its start to now:

* **Error rate**: failing requests (5xx) among the requests the feature was
  on for, at most ``max_error_rate`` %; promotion waits for ``min_requests``
  of them, so a stage nobody used is not called healthy.
* **Completion, average quality, payment success**: the businesses in the
  flag against those outside it over the same stretch; a breach when the
  inside falls further below the outside than the rollout allows. Compared
  only when each side has ``min_feedback`` submissions (payments for
  payment success); with less, the guard says so and does not judge.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core import flags
from pilots.daily_figures import DayFigures, business_figures
from rollouts.models import Rollout
from rollouts.selectors import flag_cohorts

GREEN = "green"
BREACHED = "breached"
WAITING = "waiting"  # not enough traffic yet: no breach, no promotion
NOT_JUDGED = "not judged"  # too little to compare: does not hold promotion back


@dataclass(frozen=True)
class GuardReading:
    name: str  # (lazy) translated: shown in the language of the page
    inside: float | None
    outside: float | None
    limit: str
    verdict: str
    note: str = ""

    @property
    def allows_promotion(self) -> bool:
        return self.verdict in (GREEN, NOT_JUDGED)

    def describe(self) -> str:
        shown = "—" if self.inside is None else f"{self.inside:.1f}"
        if self.outside is None:
            return gettext("%(guard)s %(inside)s (%(limit)s)") % {
                "guard": self.name,
                "inside": shown,
                "limit": self.limit,
            }
        return gettext("%(guard)s %(inside)s against %(outside).1f outside (%(limit)s)") % {
            "guard": self.name,
            "inside": shown,
            "outside": self.outside,
            "limit": self.limit,
        }


def _error_rate(rollout: Rollout, *, now: datetime) -> GuardReading:
    # Counts are kept per minute: the stage's first minute counts whole.
    since = rollout.stage_started_at.replace(second=0, microsecond=0)
    figures = flags.request_figures(rollout.flag.name, since=since, until=now)
    on, off = figures[flags.VARIANT_ON], figures[flags.VARIANT_OFF]
    limit = gettext("at most %(rate)s %%") % {"rate": rollout.max_error_rate}
    name = _("Error rate")
    if on.error_rate is None and not rollout.min_requests:
        return GuardReading(name, None, off.error_rate, limit, NOT_JUDGED, gettext("no requests"))
    if on.requests < rollout.min_requests:
        return GuardReading(
            name,
            on.error_rate,
            off.error_rate,
            limit,
            WAITING,
            gettext("%(requests)d of %(needed)d requests needed")
            % {"requests": on.requests, "needed": rollout.min_requests},
        )
    verdict = BREACHED if Decimal(str(on.error_rate)) > rollout.max_error_rate else GREEN
    return GuardReading(
        name,
        on.error_rate,
        off.error_rate,
        limit,
        verdict,
        gettext("%(requests)d requests") % {"requests": on.requests},
    )


def _compare(
    name: str,
    inside: float | None,
    outside: float | None,
    max_drop: Decimal,
    *,
    enough: bool,
    points: bool,
) -> GuardReading:
    if points:
        limit = gettext("at most %(drop)s points below outside") % {"drop": max_drop}
    else:
        limit = gettext("at most %(drop)s below outside") % {"drop": max_drop}
    if not enough or inside is None or outside is None:
        return GuardReading(
            name, inside, outside, limit, NOT_JUDGED, gettext("too little to compare")
        )
    drop = Decimal(str(outside)) - Decimal(str(inside))
    return GuardReading(name, inside, outside, limit, BREACHED if drop > max_drop else GREEN)


def _summed(figures: dict[int, DayFigures], businesses) -> DayFigures:
    return sum((figures.get(b.pk, DayFigures()) for b in businesses), DayFigures())


def guards_read(rollout: Rollout, *, now: datetime) -> list[GuardReading]:
    """Every guard of ``rollout``'s current stage, read from its start to ``now``."""
    cohorts = flag_cohorts(rollout.flag)
    figures = business_figures(since=rollout.stage_started_at, until=now)
    inside, outside = _summed(figures, cohorts.inside), _summed(figures, cohorts.outside)
    least = rollout.min_feedback
    enough_feedback = min(inside.submissions, outside.submissions) >= least

    def completion(side: DayFigures) -> float | None:
        return 100 * side.submissions / side.scans if side.scans else None

    def success(side: DayFigures) -> float | None:
        settled = side.paid + side.failed
        return 100 * side.paid / settled if settled else None

    return [
        _error_rate(rollout, now=now),
        _compare(
            _("Completion"),
            completion(inside),
            completion(outside),
            rollout.max_completion_drop,
            enough=enough_feedback,
            points=True,
        ),
        _compare(
            _("Average quality"),
            inside.quality_average,
            outside.quality_average,
            rollout.max_quality_drop,
            enough=enough_feedback,
            points=False,
        ),
        _compare(
            _("Payment success"),
            success(inside),
            success(outside),
            rollout.max_payment_success_drop,
            enough=min(inside.paid + inside.failed, outside.paid + outside.failed) >= least,
            points=True,
        ),
    ]
