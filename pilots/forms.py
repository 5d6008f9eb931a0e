"""Forms of the pilots part: the public feedback form and admin pages beyond model forms."""

import re
import secrets

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.utils.text import slugify
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.contacts import Contact, contact_normalise
from core.forms import HoneypotMixin
from pilots.features import PHONE_NOT_TAKEN
from pilots.models import Business, Category, Enrollment, Feedback, QRCode
from pilots.selectors import business_active_enrollment, qr_codes_active

MAX_CODES_PER_REQUEST = 500


class QRCodeGenerateForm(forms.Form):
    business = forms.ModelChoiceField(queryset=Business.objects.all(), label=_("Business"))
    placements = forms.CharField(
        label=_("Placements"),
        widget=forms.Textarea(attrs={"rows": 10, "cols": 40}),
        help_text=_("One placement per line, e.g. “Table 4” or “Counter”."),
    )

    def __init__(self, *args, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["business"] = forms.ModelChoiceField(
            queryset=Business.objects.all(),
            label=_("Business"),
            widget=AutocompleteSelect(QRCode._meta.get_field("business"), admin_site),
        )
        self.fields["placements"].widget.attrs["placeholder"] = "\n".join(
            gettext("Table %(number)d") % {"number": number} for number in (1, 2)
        )

    def clean_placements(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["placements"].splitlines()]
        placements = [line for line in lines if line]
        if not placements:
            raise forms.ValidationError(_("Give at least one placement."))
        if len(placements) > MAX_CODES_PER_REQUEST:
            raise forms.ValidationError(
                ngettext(
                    "At most %(most)d codes at a time; you gave %(count)d.",
                    "At most %(most)d codes at a time; you gave %(count)d.",
                    len(placements),
                )
                % {"most": MAX_CODES_PER_REQUEST, "count": len(placements)}
            )
        too_long = [
            p for p in placements if len(p) > QRCode._meta.get_field("placement").max_length
        ]
        if too_long:
            raise forms.ValidationError(
                _("“%(placement)s…” is longer than 100 characters.")
                % {"placement": too_long[0][:40]}
            )
        return placements


class SheetSelectionForm(forms.Form):
    """Which codes to print: ``ids=1,2,3`` and/or ``business=<id>``; active codes only."""

    ids = forms.CharField(required=False)
    business = forms.ModelChoiceField(queryset=Business.objects.all(), required=False)

    def clean_ids(self) -> list[int] | None:
        raw = self.cleaned_data["ids"].strip()
        if not raw:
            return None
        try:
            ids = [int(part) for part in raw.split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError(_("The selection is not a list of code numbers.")) from None
        if len(ids) > MAX_CODES_PER_REQUEST:
            raise forms.ValidationError(
                _("Print at most %(most)d codes at a time.") % {"most": MAX_CODES_PER_REQUEST}
            )
        return ids

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if cleaned.get("ids") is None and cleaned.get("business") is None:
            raise forms.ValidationError(_("Select codes, or a business, to print."))
        if not self.codes().exists():
            raise forms.ValidationError(
                _("None of the selected codes is active: revoked codes are not printed.")
            )
        return cleaned

    def codes(self):
        return qr_codes_active(
            ids=self.cleaned_data.get("ids"), business=self.cleaned_data.get("business")
        )

    def filename(self) -> str:
        business = self.cleaned_data.get("business")
        return f"qr-cards-{slugify(business.name)}.pdf" if business else "qr-cards.pdf"


class EnrollmentForm(forms.ModelForm):
    """Enrol a business; refuses one that is already active in a pilot, before the database does."""

    class Meta:
        model = Enrollment
        fields = ("pilot", "business", "trial_limit")

    def clean(self):
        cleaned = super().clean()
        business = cleaned.get("business")
        if self.instance.pk is None and business is not None:
            current = business_active_enrollment(business)
            if current is not None:
                raise forms.ValidationError(
                    _(
                        "%(business)s is already enrolled in an active pilot (“%(pilot)s”); "
                        "withdraw it there first."
                    )
                    % {"business": business.name, "pilot": current.pilot.name}
                )
        return cleaned


SUBMISSION_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22,64}$")


def submission_key_new() -> str:
    """A one-time key for one rendered form: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


class FeedbackForm(HoneypotMixin, forms.Form):
    """The public form behind a printed code. Labels are translated (Swedish/English).

    Every rendered form carries a one-time ``submission_key`` (a hidden field):
    sending the same form twice is one feedback (see ``feedback_submit``).
    """

    rating = forms.TypedChoiceField(
        label=_("How was your visit?"),
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose from 1 to 5.")},
    )
    categories = forms.MultipleChoiceField(
        label=_("What is it about?"),
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    comment = forms.CharField(
        label=_("Tell us more"),
        required=False,
        max_length=Feedback.COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": Feedback.COMMENT_MAX_LENGTH}),
        help_text=_("What was good, what could be better? Up to 2,000 characters."),
    )
    contact = forms.CharField(
        label=_("E-mail or mobile number"),
        required=False,
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )
    consent = forms.BooleanField(
        label=_("You may contact me about my reward."),
        required=False,
    )

    submission_key = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, phone_allowed: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.phone_allowed = phone_allowed
        if not phone_allowed:
            self.fields["contact"].label = _("E-mail address")

    def clean_submission_key(self) -> str:
        """The form's key, or "" for none or a malformed one (then nothing is deduplicated)."""
        key = self.cleaned_data["submission_key"]
        return key if SUBMISSION_KEY_PATTERN.match(key) else ""

    def submission_key_for_page(self) -> str:
        """The key to render: the one sent (nothing was stored under it), else a new one."""
        sent = self.data.get("submission_key", "") if self.is_bound else ""
        return sent if SUBMISSION_KEY_PATTERN.match(sent) else submission_key_new()

    def clean_categories(self) -> list[str]:
        categories = self.cleaned_data["categories"]
        if len(set(categories)) != len(categories):
            raise forms.ValidationError(_("Choose each topic once."))
        return categories

    def clean_contact(self) -> Contact:
        contact = contact_normalise(self.cleaned_data["contact"])
        if contact.phone and not self.phone_allowed:
            raise forms.ValidationError(PHONE_NOT_TAKEN, code="phone_not_taken")
        return contact

    def clean(self):
        cleaned = super().clean()
        has_contact = bool(cleaned.get("contact"))
        if has_contact and not cleaned.get("consent"):
            self.add_error(
                "consent", _("Tick the box so that we may contact you about the reward.")
            )
        if cleaned.get("consent") and not has_contact and "contact" not in self.errors:
            self.add_error("contact", _("Tell us where to send the reward."))
        return cleaned
