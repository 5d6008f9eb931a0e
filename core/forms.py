"""Forms shared by the admin pages of several parts."""

from datetime import date, timedelta

from django import forms

# Report periods are clamped into these bounds: a year like 9999 would
# overflow the day arithmetic, and decades of daily rows help nobody.
EARLIEST_REPORT_DATE = date(2000, 1, 1)
LATEST_REPORT_DATE = date(2099, 12, 31)
LONGEST_REPORT_PERIOD = timedelta(days=5 * 366)


def _clamped(day: date) -> date:
    return min(max(day, EARLIEST_REPORT_DATE), LATEST_REPORT_DATE)


class ReportPeriodForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end"):
            start, end = _clamped(cleaned["start"]), _clamped(cleaned["end"])
            if start > end:
                raise forms.ValidationError("The period must start before it ends.")
            cleaned["start"], cleaned["end"] = max(start, end - LONGEST_REPORT_PERIOD), end
        return cleaned
