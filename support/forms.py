"""Forms of the support part: the café staff report and the ticket reply boxes."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import HoneypotMixin
from support.models import Ticket
from support.services import STAFF_REPORT_PRIORITY

# What café staff can report, in the order the form offers it.
STAFF_CATEGORIES = [
    (category.value, category.label)
    for category in Ticket.Category
    if category in STAFF_REPORT_PRIORITY
]


class StaffReportForm(HoneypotMixin, forms.Form):
    category = forms.ChoiceField(
        label=_("What is wrong?"), choices=STAFF_CATEGORIES, widget=forms.RadioSelect
    )
    description = forms.CharField(
        label=_("Tell us more"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    reporter = forms.CharField(
        label=_("Your name or phone"),
        required=False,
        max_length=100,
        help_text=_("So that support can reach you."),
    )


class TicketTextForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}))
