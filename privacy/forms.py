"""Forms of data requests: the admin's new request, and the privacy page's self-service form."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.contacts import Contact, contact_normalise
from core.forms import HoneypotMixin
from privacy.models import DataRequest


def _contact(raw: str) -> Contact:
    contact = contact_normalise(raw)
    if not contact:
        raise ValidationError(_("Enter an e-mail address or a mobile number."))
    return contact


class DataRequestOpenForm(forms.Form):
    contact = forms.CharField(
        label=_("Contact"),
        max_length=254,
        help_text=_("The e-mail address or mobile number the person gave."),
    )
    language = forms.ChoiceField(
        label=_("Language"),
        choices=DataRequest.Language.choices,
        help_text=_("The language of the export the person receives."),
    )
    identity_check = forms.CharField(
        label=_("Identity check"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_(
            "How you checked that the person asking holds this contact "
            "(e.g. replied from the address, read back a code sent by SMS)."
        ),
    )

    def clean_contact(self) -> Contact:
        return _contact(self.cleaned_data["contact"])


class SelfServiceRequestForm(HoneypotMixin, forms.Form):
    contact = forms.CharField(
        label=_("Your e-mail address or mobile number"),
        max_length=254,
        help_text=_("The one you gave for a reward. We send the link there."),
    )

    def clean_contact(self) -> Contact:
        return _contact(self.cleaned_data["contact"])
