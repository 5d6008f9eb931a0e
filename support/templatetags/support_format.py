"""Durations in the reports and the postmortem as people read them: "2 h 10 min"."""

from datetime import timedelta

from django import template

from support.selectors import duration_words

register = template.Library()


@register.filter
def minutes_words(value: timedelta | None) -> str:
    """A duration in whole minutes, "—" when there is none."""
    if value is None:
        return "—"
    return duration_words(int(value.total_seconds() // 60))
