"""Admin forms of the rollouts part: a flag change with its reason, a rollout plan in words."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from rollouts.models import MAX_STAGES, Flag, Rollout, validate_stages

_STAGE = re.compile(r"^\s*(\d{1,3})\s*%?\s*(?:for\s+)?(\d{1,5})\s*(m|min|h|d)\s*$", re.IGNORECASE)
MINUTES = {"m": 1, "min": 1, "h": 60, "d": 1440}
# A rollout's guard thresholds, as the form asks for them and its page shows them.
GUARD_FIELDS = (
    "max_error_rate",
    "min_requests",
    "max_completion_drop",
    "max_quality_drop",
    "max_payment_success_drop",
    "min_feedback",
)


def plan_parse(text: str) -> list[dict]:
    """Read "10% 1h, 50% 2h, 100% 4h" into stages; ValidationError when unreadable."""
    parts = [part for part in re.split(r"[,;\n→]+", text) if part.strip()]
    if not 1 <= len(parts) <= MAX_STAGES:
        raise forms.ValidationError(
            _("Give 1 to %(max)d stages, e.g. 10%% 1h, 50%% 2h, 100%% 4h."),
            params={"max": MAX_STAGES},
        )
    stages = []
    for part in parts:
        match = _STAGE.match(part)
        if not match:
            raise forms.ValidationError(
                _("“%(part)s” is not a stage like “10%% 1h” (soak in m, h or d)."),
                params={"part": part.strip()[:40]},
            )
        percentage, amount, unit = match.groups()
        stages.append(
            {"percentage": int(percentage), "soak_minutes": int(amount) * MINUTES[unit.lower()]}
        )
    validate_stages(stages)
    return stages


class FlagChangeForm(forms.ModelForm):
    """A flag's settings; the reason goes into its history."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        help_text=_("Why it changes: kept in the flag's history with your name."),
    )

    class Meta:
        model = Flag
        fields = ("description", "state", "tags", "percentage")

    def clean(self):
        cleaned = super().clean()
        running = Rollout.objects.filter(flag=self.instance, status=Rollout.Status.RUNNING)
        if {"state", "tags", "percentage"} & set(self.changed_data) and running.exists():
            raise forms.ValidationError(
                _(
                    "This flag is being rolled out: roll the rollout back, or let it finish, "
                    "before changing its state, tags or percentage."
                )
            )
        return cleaned


class FlagAddForm(forms.ModelForm):
    class Meta:
        model = Flag
        fields = ("name", "description", "tags")


class RolloutStartForm(forms.ModelForm):
    plan = forms.CharField(
        label=_("Plan"),
        initial="10% 1h, 50% 2h, 100% 4h",
        help_text=_(
            "Stages with their soak times (m, h, d), e.g. 10% 1h, 50% 2h, 100% 4h. "
            "The percentages are of the flag's audience: its tags, or every business."
        ),
    )

    class Meta:
        model = Rollout
        fields = ("flag", "plan", *GUARD_FIELDS)

    def clean_plan(self) -> list[dict]:
        return plan_parse(self.cleaned_data["plan"])

    def _post_clean(self):
        """The service validates the whole rollout; the form checks its own fields only."""


class RollBackForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        help_text=_("Why: it goes into the history, the incident and the e-mail."),
    )
