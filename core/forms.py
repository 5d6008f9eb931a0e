"""Forms shared by the admin pages of several parts."""

from datetime import date, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

# Report periods are clamped into these bounds: a year like 9999 would
# overflow the day arithmetic, and decades of daily rows help nobody.
EARLIEST_REPORT_DATE = date(2000, 1, 1)
LATEST_REPORT_DATE = date(2099, 12, 31)
LONGEST_REPORT_PERIOD = timedelta(days=5 * 366)


def _clamped(day: date) -> date:
    return min(max(day, EARLIEST_REPORT_DATE), LATEST_REPORT_DATE)


class ReportPeriodForm(forms.Form):
    start = forms.DateField(label=_("Start"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("End"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end"):
            start, end = _clamped(cleaned["start"]), _clamped(cleaned["end"])
            if start > end:
                raise forms.ValidationError(_("The period must start before it ends."))
            cleaned["start"], cleaned["end"] = max(start, end - LONGEST_REPORT_PERIOD), end
        return cleaned


class HoneypotMixin(forms.Form):
    """A field people never see (``templates/public/honeypot.html``); bots fill in every field.

    A form with it filled in is answered as if it had been taken, and nothing is kept.
    """

    website = forms.CharField(required=False, max_length=200, label=_("Leave this empty"))

    @property
    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get("website"))
