"""Support: calendars and SLA policies, tickets and their timeline, staff links."""

import zoneinfo
from datetime import date

import holidays
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from core.models import TimeStampedModel
from pilots.models import validate_timezone
from support.business_time import MINUTES_PER_DAY, BusinessCalendar, Window

# Swedish law treats these eves like public holidays for office hours.
HOLIDAY_CATEGORIES = ("public", "de_facto")


class SupportCalendar(TimeStampedModel):
    """When support counts time: weekly windows in one time zone, minus closed days."""

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(
        max_length=64, default="Europe/Stockholm", validators=[validate_timezone]
    )
    holiday_country = models.CharField(
        max_length=2,
        blank=True,
        help_text="ISO country code whose public holidays (and days treated as such) are closed.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def business_calendar(self) -> BusinessCalendar:
        """The pure calendar the SLA arithmetic runs on."""
        windows = tuple(Window(w.weekday, w.opens, w.minutes) for w in self.windows.all())
        closed = set(self.closed_dates.values_list("day", flat=True))
        country = self.holiday_country

        def is_closed(day: date) -> bool:
            return day in closed or (bool(country) and day in _holidays(country, day.year))

        return BusinessCalendar(zoneinfo.ZoneInfo(self.timezone), windows, is_closed)


_HOLIDAY_CACHE: dict[tuple[str, int], holidays.HolidayBase] = {}


def _holidays(country: str, year: int) -> holidays.HolidayBase:
    key = (country, year)
    if key not in _HOLIDAY_CACHE:
        _HOLIDAY_CACHE[key] = holidays.country_holidays(
            country, years=year, categories=HOLIDAY_CATEGORIES
        )
    return _HOLIDAY_CACHE[key]


class OpeningWindow(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    calendar = models.ForeignKey(SupportCalendar, on_delete=models.CASCADE, related_name="windows")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MINUTES_PER_DAY)],
        help_text="How long it stays open; past midnight runs into the next day.",
    )

    class Meta:
        ordering = ["calendar", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes__gte=1, minutes__lte=MINUTES_PER_DAY),
                name="support_window_length_within_a_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M} for {self.minutes} min"


class ClosedDate(models.Model):
    calendar = models.ForeignKey(
        SupportCalendar, on_delete=models.CASCADE, related_name="closed_dates"
    )
    day = models.DateField()
    reason = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "day"], name="support_closed_date_once")
        ]

    def __str__(self) -> str:
        return f"{self.day} ({self.reason or 'closed'})"


class Priority(models.TextChoices):
    P0 = "P0", "P0 critical"
    P1 = "P1", "P1 high"
    P2 = "P2", "P2 medium"
    P3 = "P3", "P3 low"


class SLAPolicy(TimeStampedModel):
    """Targets for one priority, counted on a calendar."""

    priority = models.CharField(max_length=2, choices=Priority.choices, unique=True)
    first_response_minutes = models.PositiveIntegerField()
    resolution_minutes = models.PositiveIntegerField()
    calendar = models.ForeignKey(SupportCalendar, on_delete=models.PROTECT, related_name="policies")
    warning_share = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=0.75,
        validators=[MinValueValidator(0.1), MaxValueValidator(0.99)],
        help_text="Warn when this share of a target's business time has been used.",
    )

    class Meta:
        ordering = ["priority"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(first_response_minutes__gt=0, resolution_minutes__gt=0),
                name="support_policy_targets_positive",
            ),
            models.CheckConstraint(
                condition=Q(warning_share__gt=0, warning_share__lt=1),
                name="support_policy_warning_share_between_0_and_1",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_priority_display()}: respond in {self.first_response_minutes} min, "
            f"resolve in {self.resolution_minutes} min"
        )
