"""Business-time arithmetic: add business minutes to an instant, and count them between two.

Pure and small on purpose: no database, no settings, no clock. A
:class:`BusinessCalendar` says when support is open in one IANA time zone:

* weekly opening windows, several per day allowed; a window whose end is not
  after its start runs overnight into the next day (22:00-02:00) and belongs
  to the day it starts on;
* closed dates (public holidays, extra closed days): windows that start on
  them do not open.

Windows are laid out in wall-clock time and turned into instants day by day,
so a DST change is handled where it happens: 08:00-18:00 stays 08:00-18:00
local, and a 24/7 day that has 23 or 25 hours counts 23 or 25 hours. All
arithmetic happens on UTC instants.

Rules, shown by the property tests: ``add`` is monotonic and additive
(``add(add(t, a), b) == add(t, a + b)``); ``between(t, add(t, n)) == n``;
``add`` of a positive duration never answers an instant in closed time (a
result may be the end of a window: work due "by 18:00"); ``add(t, 0)`` is ``t``.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
# No calendar that is open at all goes this long without opening.
SEARCH_LIMIT_DAYS = 3 * 366


@dataclass(frozen=True)
class Window:
    """Open from ``opens`` for ``minutes`` minutes of wall-clock time (at most a day)."""

    weekday: int  # Monday is 0
    opens: time
    minutes: int

    @classmethod
    def between(cls, weekday: int, opens: time, closes: time) -> "Window":
        start = opens.hour * 60 + opens.minute
        end = closes.hour * 60 + closes.minute
        length = (end - start) % MINUTES_PER_DAY or MINUTES_PER_DAY
        return cls(weekday=weekday, opens=opens, minutes=length)


@dataclass(frozen=True)
class BusinessCalendar:
    zone: ZoneInfo
    windows: tuple[Window, ...]
    is_closed: Callable[[date], bool] = field(default=lambda day: False, compare=False)
    # Open intervals per day, computed once: SLA sweeps ask about the same days again and again.
    _days: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.windows:
            raise ValueError("A business calendar needs at least one opening window.")

    @classmethod
    def always_open(cls, zone: ZoneInfo) -> "BusinessCalendar":
        return cls(zone, tuple(Window(day, time(0), MINUTES_PER_DAY) for day in range(7)))

    def _local(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self.zone)

    def _day_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """Open intervals, as UTC instants, of the windows that start on ``day``."""
        if day not in self._days:
            self._days[day] = self._compute_day_intervals(day)
        return self._days[day]

    def _compute_day_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        if self.is_closed(day):
            return []
        intervals = []
        for window in self.windows:
            if window.weekday != day.weekday():
                continue
            opens = self._local(day, window.opens)
            end_minute = window.opens.hour * 60 + window.opens.minute + window.minutes
            end_day = day + timedelta(days=end_minute // MINUTES_PER_DAY)
            end_minute %= MINUTES_PER_DAY
            closes = self._local(end_day, time(end_minute // 60, end_minute % 60))
            intervals.append((opens.astimezone(UTC), closes.astimezone(UTC)))
        return sorted(intervals)

    def intervals_from(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals that end after ``instant``, in order, never overlapping."""
        day = instant.astimezone(self.zone).date() - timedelta(days=1)  # overnight windows
        covered = instant
        for offset in range(SEARCH_LIMIT_DAYS):
            for start, end in self._day_intervals(day + timedelta(days=offset)):
                start = max(start, covered)
                if start >= end:
                    continue
                covered = end
                yield start, end
        raise ValueError(f"The calendar does not open within {SEARCH_LIMIT_DAYS} days.")


def add(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """The instant ``duration`` of open time after ``start``."""
    if duration < timedelta(0):
        raise ValueError("Business time is added forwards only.")
    start = start.astimezone(UTC)
    if not duration:
        return start  # no business time after ``start`` is ``start`` itself
    remaining = duration
    for opens, closes in calendar.intervals_from(start):
        available = closes - opens
        if remaining <= available:
            return opens + remaining
        remaining -= available
    raise AssertionError("unreachable: intervals_from raises when it runs out")


def between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Open time from ``start`` to ``end`` (zero when ``end`` is not after ``start``)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta(0)
    if end <= start:
        return total
    for opens, closes in calendar.intervals_from(start):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total


def is_open(calendar: BusinessCalendar, instant: datetime) -> bool:
    instant = instant.astimezone(UTC)
    opens, _closes = next(calendar.intervals_from(instant))
    return opens <= instant
