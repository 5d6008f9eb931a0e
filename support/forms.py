"""Forms of the support part: the café staff report and the ticket reply boxes."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import HoneypotMixin
from support.models import Ticket
from support.photos import CleanPhoto, PhotoRefused, photo_clean
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
    photo = forms.FileField(
        label=_("Photo (optional)"),
        required=False,
        help_text=_("A JPEG or PNG of at most 5 MB: the broken code, or the error on the screen."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}),
        error_messages={"empty": _("The photo is empty. Take it again.")},
    )

    def clean_photo(self) -> CleanPhoto | None:
        """Decoded and re-encoded without metadata (support/photos.py), or None."""
        upload = self.cleaned_data.get("photo")
        if not upload:
            return None
        try:
            return photo_clean(upload)
        except PhotoRefused as refused:
            raise forms.ValidationError(str(refused), code="photo") from None


class TicketTextForm(forms.Form):
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 4, "cols": 80}))


class TicketTriageForm(forms.Form):
    """The side panel of the agent workspace: status, priority and assignee in place."""

    status = forms.ChoiceField(label=_("Status"), choices=Ticket.Status.choices)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Ticket._meta.get_field("priority").choices
    )
    assignee = forms.ModelChoiceField(
        label=_("Assignee"),
        queryset=None,
        required=False,
        empty_label=_("nobody"),
        to_field_name="pk",
    )

    def __init__(self, *args, **kwargs):
        from django.contrib.auth import get_user_model

        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = (
            get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")
        )
