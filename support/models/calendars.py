"""Support calendars: opening hours, closed dates and the public holidays of each year."""

import zoneinfo
from datetime import date

import holidays
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from pilots.models import validate_timezone
from support.business_time import MINUTES_PER_DAY, BusinessCalendar, Window

# Swedish law treats these eves like public holidays for office hours.
HOLIDAY_CATEGORIES = ("public", "de_facto")


class SupportCalendar(TimeStampedModel):
    """When support counts time: weekly windows in one time zone, minus closed days."""

    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    timezone = models.CharField(
        max_length=64,
        default="Europe/Stockholm",
        validators=[validate_timezone],
        verbose_name=_("timezone"),
    )
    holiday_country = models.CharField(
        max_length=2,
        blank=True,
        help_text=_(
            "ISO country code whose public holidays (and days treated as such) are closed."
        ),
        verbose_name=_("holiday country"),
    )

    class Meta:
        verbose_name = _("support calendar")
        verbose_name_plural = _("support calendars")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def business_calendar(self) -> BusinessCalendar:
        """The pure calendar the SLA arithmetic runs on (cached until the calendar changes)."""
        key = (self.pk, self.updated_at)
        if key not in _CALENDAR_CACHE:
            _CALENDAR_CACHE[key] = self._business_calendar()
        return _CALENDAR_CACHE[key]

    def _business_calendar(self) -> BusinessCalendar:
        windows = tuple(Window(w.weekday, w.opens, w.minutes) for w in self.windows.all())
        closed = set(self.closed_dates.values_list("day", flat=True))
        country = self.holiday_country

        def is_closed(day: date) -> bool:
            return day in closed or (bool(country) and day in _holidays(country, day.year))

        return BusinessCalendar(zoneinfo.ZoneInfo(self.timezone), windows, is_closed)


_HOLIDAY_CACHE: dict[tuple[str, int], holidays.HolidayBase] = {}
_CALENDAR_CACHE: dict[tuple, BusinessCalendar] = {}


def _holidays(country: str, year: int) -> holidays.HolidayBase:
    key = (country, year)
    if key not in _HOLIDAY_CACHE:
        _HOLIDAY_CACHE[key] = holidays.country_holidays(
            country, years=year, categories=HOLIDAY_CATEGORIES
        )
    return _HOLIDAY_CACHE[key]


class OpeningWindow(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    calendar = models.ForeignKey(
        SupportCalendar,
        on_delete=models.CASCADE,
        related_name="windows",
        verbose_name=_("calendar"),
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, verbose_name=_("weekday"))
    opens = models.TimeField(verbose_name=_("opens"))
    minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MINUTES_PER_DAY)],
        help_text=_("How long it stays open; past midnight runs into the next day."),
        verbose_name=_("minutes"),
    )

    class Meta:
        verbose_name = _("opening window")
        verbose_name_plural = _("opening windows")
        ordering = ["calendar", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes__gte=1, minutes__lte=MINUTES_PER_DAY),
                name="support_window_length_within_a_day",
            )
        ]

    def __str__(self) -> str:
        return gettext("%(weekday)s %(opens)s for %(minutes)d min") % {
            "weekday": self.get_weekday_display(),
            "opens": f"{self.opens:%H:%M}",
            "minutes": self.minutes,
        }


class ClosedDate(models.Model):
    calendar = models.ForeignKey(
        SupportCalendar,
        on_delete=models.CASCADE,
        related_name="closed_dates",
        verbose_name=_("calendar"),
    )
    day = models.DateField(verbose_name=_("day"))
    reason = models.CharField(max_length=100, blank=True, verbose_name=_("reason"))

    class Meta:
        verbose_name = _("closed date")
        verbose_name_plural = _("closed dates")
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "day"], name="support_closed_date_once")
        ]

    def __str__(self) -> str:
        reason = self.reason or gettext("closed")
        return f"{self.day} ({reason})"
