"""Forms of the billing admin: a plan's features, an offer, a change of plan."""

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.models import Offer, Plan, Subscription
from core import flags


def feature_choices() -> list[tuple[str, str]]:
    """Every feature the code declares, and every flag stored, by name."""
    from rollouts.models import Flag

    names = set(flags.DECLARED) | set(Flag.objects.values_list("name", flat=True))
    return [(name, name) for name in sorted(names)]


class PlanForm(forms.ModelForm):
    features = forms.MultipleChoiceField(
        label=_("Features"),
        choices=(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Turned on for a business while its plan is active."),
    )

    class Meta:
        model = Plan
        fields = ("name", "monthly_price", "vat_percent", "features", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = feature_choices()
        known = {name for name, _ in choices}
        # A feature no longer declared stays selectable while a plan still grants it.
        extra = [(name, name) for name in (self.instance.features or []) if name not in known]
        self.fields["features"].choices = choices + extra


class OfferForm(forms.ModelForm):
    class Meta:
        model = Offer
        fields = ("business", "pilot", "plan", "method")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "plan" in self.fields:  # not on an offer's page, where it is read-only
            self.fields["plan"].queryset = Plan.objects.filter(is_active=True)

    def clean(self):
        from billing.services import BillingError, offer_check

        cleaned = super().clean()
        if cleaned.get("business") and cleaned.get("plan") and cleaned.get("method"):
            try:
                offer_check(
                    business=cleaned["business"], plan=cleaned["plan"], method=cleaned["method"]
                )
            except BillingError as error:
                raise forms.ValidationError(str(error)) from None
        return cleaned


class PlanChangeForm(forms.Form):
    plan = forms.ModelChoiceField(label=_("Plan"), queryset=Plan.objects.none())

    def __init__(self, *args, subscription: Subscription, **kwargs):
        super().__init__(*args, **kwargs)
        if "plan" in self.fields:  # not on an offer's page, where it is read-only
            self.fields["plan"].queryset = Plan.objects.filter(is_active=True).exclude(
                pk=subscription.plan_id
            )
