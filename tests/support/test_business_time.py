"""Business-time arithmetic: DESIGN.md's worked examples and the properties that keep it honest."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.business_time import BusinessCalendar, Window, add, between, is_open
from support.models import SLAPolicy

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def at(text: str) -> datetime:
    """'2026-11-20 17:30' in Stockholm time."""
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM)


def local(instant: datetime) -> str:
    return instant.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M %Z")


@pytest.fixture
def response_due(db):
    """First-response due time for a priority, from the seeded policies."""

    def due(priority: str, created: datetime) -> str:
        policy = SLAPolicy.objects.select_related("calendar").get(priority=priority)
        calendar = policy.calendar.business_calendar()
        return local(add(calendar, created, timedelta(minutes=policy.first_response_minutes)))

    return due


# --- DESIGN.md's worked examples ---------------------------------------------
@pytest.mark.parametrize(
    ("priority", "created", "due"),
    [
        ("P2", "2026-11-20 17:30", "2026-11-23 17:30 CET"),  # over a weekend
        ("P2", "2026-12-23 16:00", "2026-12-28 16:00 CET"),  # julafton, juldagen, annandag
        ("P3", "2027-06-24 09:00", "2027-07-02 09:00 CEST"),  # Midsommarafton closed
        ("P2", "2027-03-25 17:00", "2027-03-30 17:00 CEST"),  # Easter and DST in one weekend
        ("P1", "2027-03-28 01:30", "2027-03-28 04:30 CEST"),  # 24/7 across spring forward
        ("P0", "2026-11-21 03:00", "2026-11-21 03:15 CET"),  # 24/7 on a Saturday night
    ],
)
def test_worked_example_first_response_due(response_due, priority, created, due):
    assert response_due(priority, at(created)) == due


def test_worked_example_24_7_across_fall_back(response_due):
    created = datetime(2026, 10, 25, 1, 30, tzinfo=STOCKHOLM)  # CEST, before the change

    assert response_due("P1", created) == "2026-10-25 02:30 CET"
    assert created.utcoffset() == timedelta(hours=2)


def test_business_hours_count_only_open_time(db):
    calendar = SLAPolicy.objects.get(priority="P2").calendar.business_calendar()

    friday_evening_to_monday_noon = between(
        calendar, at("2026-11-20 17:00"), at("2026-11-23 12:00")
    )

    assert friday_evening_to_monday_noon == timedelta(hours=5)  # 1 h Friday, 4 h Monday
    assert not is_open(calendar, at("2026-12-24 10:00"))  # julafton
    assert is_open(calendar, at("2026-12-23 10:00"))


# --- several windows a day, overnight windows --------------------------------
SPLIT_AND_NIGHT = BusinessCalendar(
    STOCKHOLM,
    (
        *(Window.between(day, time(8), time(12)) for day in range(5)),
        *(Window.between(day, time(13), time(17)) for day in range(5)),
        Window.between(4, time(22), time(2)),  # Friday night shift into Saturday
    ),
    is_closed=lambda day: day == date(2026, 12, 25),
)


def test_lunch_break_is_not_counted():
    assert local(add(SPLIT_AND_NIGHT, at("2026-11-23 11:00"), timedelta(hours=2))) == (
        "2026-11-23 14:00 CET"
    )


def test_overnight_window_belongs_to_the_day_it_opens():
    assert local(add(SPLIT_AND_NIGHT, at("2026-11-20 16:30"), timedelta(hours=3))) == (
        "2026-11-21 00:30 CET"
    )
    assert is_open(SPLIT_AND_NIGHT, at("2026-11-21 01:00"))  # Saturday, on Friday's shift
    assert between(SPLIT_AND_NIGHT, at("2026-11-20 00:00"), at("2026-11-23 00:00")) == (
        timedelta(hours=8 + 4)
    )


# --- properties ---------------------------------------------------------------
def calendars(db_calendar):
    return [db_calendar, SPLIT_AND_NIGHT, BusinessCalendar.always_open(STOCKHOLM)]


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
durations = st.integers(min_value=0, max_value=60 * 60).map(lambda m: timedelta(minutes=m))


@pytest.fixture(scope="module")
def office():
    """Mon-Fri 08:00-18:00 Stockholm with Swedish holidays and eves, built without the DB."""
    import holidays

    closed = holidays.country_holidays(
        "SE", years=range(2026, 2031), categories=("public", "de_facto")
    )
    return BusinessCalendar(
        STOCKHOLM,
        tuple(Window.between(day, time(8), time(18)) for day in range(5)),
        is_closed=lambda day: day in closed,
    )


@settings(max_examples=150, deadline=None)
@given(start=instants, first=durations, second=durations, which=st.integers(0, 2))
def test_property_add_is_additive(office, start, first, second, which):
    calendar = calendars(office)[which]

    assert add(calendar, add(calendar, start, first), second) == add(
        calendar, start, first + second
    )


@settings(max_examples=150, deadline=None)
@given(
    start=instants, shorter=durations, longer=durations, later=durations, which=st.integers(0, 2)
)
def test_property_add_is_monotonic(office, start, shorter, longer, later, which):
    calendar = calendars(office)[which]
    shorter, longer = sorted((shorter, longer))

    assert add(calendar, start, shorter) <= add(calendar, start, longer)
    assert add(calendar, start, shorter) <= add(calendar, start + later, shorter)


@settings(max_examples=150, deadline=None)
@given(start=instants, duration=durations, which=st.integers(0, 2))
def test_property_between_undoes_add(office, start, duration, which):
    calendar = calendars(office)[which]

    assert between(calendar, start, add(calendar, start, duration)) == duration


@settings(max_examples=150, deadline=None)
@given(start=instants, duration=durations.filter(bool), which=st.integers(0, 2))
def test_property_add_never_lands_in_closed_time(office, start, duration, which):
    calendar = calendars(office)[which]
    due = add(calendar, start, duration)

    # Open at the instant itself, or at the close of the window it ends (a moment before).
    assert is_open(calendar, due) or is_open(calendar, due - timedelta(seconds=1))
