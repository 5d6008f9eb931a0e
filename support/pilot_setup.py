"""The pilot set-up flow: from a new pilot to printed table cards and staff cards, in few pages.

1. the pilot's details (a draft pilot);
2. its cafés: picked or new, with their trial limit (the pilot's by default)
   and the placements to print codes for;
3. what to print: the table cards of every café, a staff card each, and
   *Activate*; the two sheets are pages 4 and 5.

It lives in support because a café's staff card is support's staff link; the
pilot, cafés, enrollments and codes come from the pilots services.
"""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.admin import report_errors
from pilots import services as pilot_services
from pilots.models import Business, Enrollment, Pilot, QRCode
from support import services
from support.cards import staff_cards_html
from support.models import StaffLink

DEFAULT_PLACEMENTS = "Counter\nTable 1\nTable 2\nTable 3"
MAX_NEW_CAFES = 50


# ------------------------------------------------------------------------------
# Forms
# ------------------------------------------------------------------------------
class PilotDetailsForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    starts_on = forms.DateField(
        label=_("Starts on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(label=_("Ends on"), widget=forms.DateInput(attrs={"type": "date"}))
    reward_kronor = forms.IntegerField(
        label=_("Reward (kr)"), min_value=0, max_value=1000, initial=10
    )
    default_trial_limit = forms.IntegerField(
        label=_("Default trial limit"),
        min_value=1,
        max_value=100_000,
        initial=100,
        help_text=_("Feedback per café."),
    )

    def clean(self):
        cleaned = super().clean()
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            raise forms.ValidationError(_("The pilot must end on or after the day it starts."))
        return cleaned


class CafesForm(forms.Form):
    existing = forms.ModelMultipleChoiceField(
        queryset=Business.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        label=_("Cafés already known"),
    )
    new_cafes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        label=_("New cafés"),
        help_text=_("One a line: name; city; customers a day (e.g. “Café Aurora; Malmö; 300”)."),
    )
    trial_limit = forms.IntegerField(
        label=_("Trial limit"),
        validators=[MinValueValidator(1), MaxValueValidator(100_000)],
        help_text=_("Feedback per café; the pilot's default."),
    )
    placements = forms.CharField(
        label=_("Placements"),
        widget=forms.Textarea(attrs={"rows": 5, "cols": 30}),
        initial=DEFAULT_PLACEMENTS,
        help_text=_("One code per line, for every café."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["existing"].queryset = (
            Business.objects.filter(is_probe=False)
            .exclude(status=Business.Status.CHURNED)
            .exclude(enrollments__status=Enrollment.Status.ACTIVE)
            .order_by("name")
        )

    def clean_new_cafes(self) -> list[tuple[str, str, int]]:
        cafes = []
        for number, line in enumerate(self.cleaned_data["new_cafes"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split(";")]
            if len(parts) != 3 or not parts[0] or not parts[1] or not parts[2].isdigit():
                raise forms.ValidationError(
                    _("Line %(number)d: write name; city; customers a day (a whole number).")
                    % {"number": number}
                )
            cafes.append((parts[0][:200], parts[1][:100], int(parts[2])))
        if len(cafes) > MAX_NEW_CAFES:
            raise forms.ValidationError(
                _("Add at most %(count)d cafés at a time.") % {"count": MAX_NEW_CAFES}
            )
        return cafes

    def clean_placements(self) -> list[str]:
        return [line.strip()[:100] for line in self.cleaned_data["placements"].splitlines()]

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("existing") and not cleaned.get("new_cafes"):
            raise forms.ValidationError(_("Pick a café or add a new one."))
        return cleaned


# ------------------------------------------------------------------------------
# The service the flow calls
# ------------------------------------------------------------------------------
@transaction.atomic
def pilot_cafes_set_up(
    *,
    pilot: Pilot,
    existing: list[Business],
    new_cafes: list[tuple[str, str, int]],
    trial_limit: int,
    placements: list[str],
    actor=None,
) -> list[Enrollment]:
    """Enrol the cafés (new ones made first), print-ready: codes for each placement, a staff link.

    All or nothing: a café that cannot be enrolled leaves the pilot as it was.
    """
    cafes = list(existing) + [
        pilot_services.business_create(
            name=name, city=city, expected_daily_customers=customers, actor=actor
        )
        for name, city, customers in new_cafes
    ]
    enrollments = []
    for cafe in cafes:
        enrollments.append(
            pilot_services.enrollment_create(
                pilot=pilot, business=cafe, trial_limit=trial_limit, actor=actor
            )
        )
        taken = set(
            cafe.qr_codes.filter(status=QRCode.Status.ACTIVE).values_list("placement", flat=True)
        )
        missing = [label for label in placements if label and label not in taken]
        if missing:
            pilot_services.qr_codes_generate(business=cafe, placements=missing, actor=actor)
    services.staff_links_ensure(businesses=cafes, actor=actor)
    return enrollments


# ------------------------------------------------------------------------------
# The pages
# ------------------------------------------------------------------------------
def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _page(request, step: int, title: str, template: str, **context):
    from django.contrib import admin

    return TemplateResponse(
        request,
        template,
        {**admin.site.each_context(request), "title": title, "step": step, **context},
    )


def details_view(request):
    """Page 1: the pilot's name, dates, reward and trial limit."""
    _require(request, "pilots.add_pilot")
    today = timezone.localdate()
    form = PilotDetailsForm(
        request.POST or None,
        initial={"starts_on": today, "ends_on": today + timedelta(days=30)},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            pilot = pilot_services.pilot_create(
                name=data["name"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                reward_amount=data["reward_kronor"] * 100,
                default_trial_limit=data["default_trial_limit"],
                actor=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return HttpResponseRedirect(reverse("pilot-setup-cafes", args=[pilot.pk]))
    return _page(request, 1, gettext("New pilot: details"), "admin/setup/step.html", form=form)


def cafes_view(request, pk: int):
    """Page 2: the cafés, their trial limit and the placements to print codes for."""
    _require(request, "pilots.change_pilot")
    pilot = get_object_or_404(Pilot, pk=pk)
    form = CafesForm(request.POST or None, initial={"trial_limit": pilot.default_trial_limit})
    if request.method == "POST" and form.is_valid():
        try:
            pilot_cafes_set_up(pilot=pilot, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            report_errors(request, error)
        else:
            return HttpResponseRedirect(reverse("pilot-setup-print", args=[pilot.pk]))
    return _page(
        request,
        2,
        gettext("%(pilot)s: cafés, trial limits and codes") % {"pilot": pilot.name},
        "admin/setup/step.html",
        form=form,
        pilot=pilot,
    )


def print_view(request, pk: int):
    """Page 3: what to print for each café, and Activate."""
    _require(request, "pilots.view_pilot")
    pilot = get_object_or_404(Pilot, pk=pk)
    enrollments = list(
        pilot.enrollments.filter(status=Enrollment.Status.ACTIVE).select_related("business")
    )
    businesses = [e.business_id for e in enrollments]
    codes = QRCode.objects.filter(business_id__in=businesses, status=QRCode.Status.ACTIVE)
    links = StaffLink.objects.filter(business_id__in=businesses, status=StaffLink.Status.ACTIVE)
    ids = ",".join(str(pk) for pk in codes.values_list("pk", flat=True))
    unlinked = len(set(businesses) - set(links.values_list("business_id", flat=True)))
    return _page(
        request,
        3,
        gettext("%(pilot)s: print and start") % {"pilot": pilot.name},
        "admin/setup/print.html",
        pilot=pilot,
        enrollments=enrollments,
        code_count=len(ids.split(",")) if ids else 0,
        link_count=links.count(),
        table_cards_url=reverse("admin:pilots_qrcode_sheet") + "?" + urlencode({"ids": ids}),
        staff_cards_url=reverse("pilot-setup-staff-cards", args=[pilot.pk]),
        unlinked=unlinked if request.user.has_perm("pilots.change_pilot") else 0,
        can_activate=pilot.status == Pilot.Status.DRAFT
        and request.user.has_perm("pilots.change_pilot"),
    )


def staff_links_view(request, pk: int):
    """A staff link for every café of the pilot that has none (enrolled on the pilot's page).

    Whoever may set up the pilot may do this, as the set-up flow does: it
    only adds a missing link, it never replaces a printed one.
    """
    _require(request, "pilots.change_pilot")
    pilot = get_object_or_404(Pilot, pk=pk)
    cafes = [
        enrollment.business
        for enrollment in pilot.enrollments.filter(status=Enrollment.Status.ACTIVE).select_related(
            "business"
        )
    ]
    issued = services.staff_links_ensure(businesses=cafes, actor=request.user)
    messages.success(request, gettext("%(count)d staff link(s) issued.") % {"count": len(issued)})
    return HttpResponseRedirect(reverse("pilot-setup-print", args=[pilot.pk]))


def staff_cards_view(request, pk: int):
    """Page 5: a staff card for every café of the pilot."""
    _require(request, "support.view_stafflink")
    pilot = get_object_or_404(Pilot, pk=pk)
    links = list(
        StaffLink.objects.filter(
            business__enrollments__pilot=pilot,
            business__enrollments__status=Enrollment.Status.ACTIVE,
            status=StaffLink.Status.ACTIVE,
        )
        .select_related("business")
        .order_by("business__name")
    )
    if not links:
        messages.error(request, gettext("No café of this pilot has a staff link yet."))
        return HttpResponseRedirect(reverse("pilot-setup-print", args=[pilot.pk]))
    return HttpResponse(staff_cards_html(links))


def urlpatterns_for(admin_view) -> list:
    return [
        path("", admin_view(details_view), name="pilot-setup"),
        path("<int:pk>/cafes/", admin_view(cafes_view), name="pilot-setup-cafes"),
        path("<int:pk>/print/", admin_view(print_view), name="pilot-setup-print"),
        path("<int:pk>/staff-cards/", admin_view(staff_cards_view), name="pilot-setup-staff-cards"),
        path(
            "<int:pk>/staff-links/",
            admin_view(require_POST(staff_links_view)),
            name="pilot-setup-staff-links",
        ),
    ]
