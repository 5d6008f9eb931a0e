"""Admin for businesses, pilots, enrollments and QR codes.

Every state change goes through `pilots.services`; the admin parses input,
calls the service and reports the outcome as a message.
"""

from functools import partial

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.admin import (
    EventInline,
    ReadOnlyInlineMixin,
    report_errors,
    run_for_each,
)
from core.csv_export import csv_response
from core.forms import ReportPeriodForm
from core.money import format_money
from core.pdf import html_to_pdf
from pilots import services
from pilots.forms import EnrollmentForm, QRCodeGenerateForm, SheetSelectionForm
from pilots.models import Business, Enrollment, Pilot, QRCode, Tag
from pilots.printing import sheet_html, sheet_pdf_response
from pilots.qr import qr_png, qr_svg
from pilots.reporting import pilot_report, report_period
from pilots.selectors import intake_facts_invalidate


# ------------------------------------------------------------------------------
# Businesses
# ------------------------------------------------------------------------------
class EnrollmentSummaryInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Enrollment
    fields = ("pilot_link", "status", "feedback_count", "trial_limit", "created_at", "ended_at")
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = _("enrollments")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("pilot")

    @admin.display(description=_("pilot"))
    def pilot_link(self, enrollment: Enrollment) -> str:
        url = reverse("admin:pilots_pilot_change", args=[enrollment.pilot_id])
        return format_html('<a href="{}">{}</a>', url, enrollment.pilot.name)


class QRCodeSummaryInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = QRCode
    fields = ("placement", "status", "created_at", "revoked_at", "downloads")
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = _("QR codes")

    @admin.display(description=_("download"))
    def downloads(self, code: QRCode) -> str:
        return download_links(code)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


class IntakeFactsAdmin(admin.ModelAdmin):
    """Edits here change what the feedback form shows: drop its cached facts on save."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        transaction.on_commit(intake_facts_invalidate)


@admin.register(Business)
class BusinessAdmin(IntakeFactsAdmin):
    list_display = ("name", "city", "status", "expected_daily_customers", "qr_codes_link")
    list_filter = ("status", "city", "tags")
    search_fields = ("name", "city")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("tags",)
    inlines = (EnrollmentSummaryInline, QRCodeSummaryInline, EventInline)
    fieldsets = (
        (None, {"fields": ("name", "slug", "status", "tags")}),
        (_("Place"), {"fields": ("city", "address", "timezone", "language")}),
        (_("Contact"), {"fields": ("contact_name", "contact_email", "contact_phone")}),
        (_("Trade"), {"fields": ("expected_daily_customers", "peak_hours", "context")}),
    )

    actions = ("mark_active", "mark_paused", "mark_churned")

    def save_model(self, request, obj, form, change):
        """A status changed in the form goes through its service too, and is recorded."""
        status = obj.status
        if change and "status" in form.changed_data:
            obj.status = form.initial["status"]
        super().save_model(request, obj, form, change)
        if obj.status != status:
            services.business_status_set(business=obj, status=status, actor=request.user)

    def _status(self, request, queryset, status: str, done) -> None:
        change = partial(services.business_status_set, status=status)
        run_for_each(request, queryset, change, keyword="business", done=done)

    @admin.action(description=_("Mark selected cafés active"), permissions=["change"])
    def mark_active(self, request, queryset):
        self._status(
            request,
            queryset,
            Business.Status.ACTIVE,
            lambda n: (
                ngettext("%(count)d café active.", "%(count)d cafés active.", n) % {"count": n}
            ),
        )

    @admin.action(
        description=_("Pause selected cafés (their forms take no feedback)"),
        permissions=["change"],
    )
    def mark_paused(self, request, queryset):
        self._status(
            request,
            queryset,
            Business.Status.PAUSED,
            lambda n: (
                ngettext("%(count)d café paused.", "%(count)d cafés paused.", n) % {"count": n}
            ),
        )

    @admin.action(
        description=_("Mark selected cafés churned (their forms close)"), permissions=["change"]
    )
    def mark_churned(self, request, queryset):
        self._status(
            request,
            queryset,
            Business.Status.CHURNED,
            lambda n: (
                ngettext("%(count)d café churned.", "%(count)d cafés churned.", n) % {"count": n}
            ),
        )

    @admin.display(description=_("QR codes"))
    def qr_codes_link(self, business: Business) -> str:
        codes = (
            reverse("admin:pilots_qrcode_changelist")
            + "?"
            + urlencode({"business__id__exact": business.pk, "status__exact": QRCode.Status.ACTIVE})
        )
        sheet = reverse("admin:pilots_qrcode_sheet") + "?" + urlencode({"business": business.pk})
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            codes,
            gettext("active codes"),
            sheet,
            gettext("print"),
        )


# ------------------------------------------------------------------------------
# Pilots and enrollments
# ------------------------------------------------------------------------------
class EnrollmentInline(admin.TabularInline):
    """Enrol businesses from the pilot page; new rows go through `enrollment_create`."""

    model = Enrollment
    form = EnrollmentForm
    fields = ("business", "trial_limit", "feedback_count", "status", "ended_at")
    readonly_fields = ("feedback_count", "status", "ended_at")
    autocomplete_fields = ("business",)
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("business")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        if obj is not None:
            formset.form.base_fields["trial_limit"].initial = obj.default_trial_limit
        return formset


@admin.register(Pilot)
class PilotAdmin(IntakeFactsAdmin):
    list_display = (
        "name",
        "status",
        "starts_on",
        "ends_on",
        "reward",
        "default_trial_limit",
        "report_link",
    )
    list_filter = ("status",)
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("status", "status_changed_at")
    inlines = (EnrollmentInline, EventInline)
    actions = ("activate", "pause", "resume", "complete", "cancel")
    change_form_template = "admin/pilots/pilot/change_form.html"
    fieldsets = (
        (None, {"fields": ("name", "slug", "status", "status_changed_at")}),
        (_("Dates"), {"fields": ("starts_on", "ends_on")}),
        (
            _("Reward"),
            {
                "fields": ("reward_amount", "reward_currency", "reward_threshold"),
                "description": _(
                    "Paid for each feedback whose quality score reaches the threshold."
                ),
            },
        ),
        (_("Trial"), {"fields": ("default_trial_limit",)}),
        (
            _("Targets"),
            {
                "fields": (
                    "target_participation",
                    "target_completion",
                    "target_quality",
                    "target_payment_success",
                ),
                "description": _("What the pilot must achieve to count as a success."),
            },
        ),
    )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/report/", view(self.report_view), name="pilots_pilot_report"),
            path("<int:pk>/report.pdf", view(self.report_pdf_view), name="pilots_pilot_report_pdf"),
            path("<int:pk>/report.csv", view(self.report_csv_view), name="pilots_pilot_report_csv"),
            path(
                "<int:pk>/lifecycle/<slug:action>/",
                view(require_POST(self.transition_view)),
                name="pilots_pilot_transition",
            ),
            *super().get_urls(),
        ]

    # --- the pilot's life on its own page ----------------------------------------
    TRANSITION_SERVICES = {
        "activate": services.pilot_activate,
        "pause": services.pilot_pause,
        "resume": services.pilot_resume,
        "complete": services.pilot_complete,
        "cancel": services.pilot_cancel,
    }

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and self.has_change_permission(request, obj):
            context["transitions"] = [
                (action, services.PILOT_ACTION_LABELS[action])
                for action, (allowed_from, _target) in services.PILOT_TRANSITIONS.items()
                if obj.status in allowed_from
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def transition_view(self, request, pk: int, action: str):
        """Activate, pause, resume, complete or cancel from the pilot's page, by its service."""
        pilot = get_object_or_404(Pilot, pk=pk)
        if not self.has_change_permission(request, pilot):
            raise PermissionDenied
        service = self.TRANSITION_SERVICES.get(action)
        if service is None:
            messages.error(
                request,
                gettext("“%(action)s” is not something a pilot can do.") % {"action": action},
            )
        else:
            try:
                service(pilot=pilot, actor=request.user)
            except ValidationError as error:
                report_errors(request, error)
            else:
                messages.success(
                    request, services.PILOT_DONE_MESSAGES[action] % {"pilot": pilot.name}
                )
        return HttpResponseRedirect(reverse("admin:pilots_pilot_change", args=[pk]))

    def _report(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        pilot = get_object_or_404(Pilot, pk=pk)
        period = ReportPeriodForm(request.GET or None)
        start = end = None
        if period.is_valid():
            start, end = period.cleaned_data["start"], period.cleaned_data["end"]
        start, end = report_period(pilot, start=start, end=end)
        if not period.is_bound:  # the dates shown are the dates reported
            period = ReportPeriodForm(initial={"start": start, "end": end})
        return pilot_report(pilot, start=start, end=end), period

    def _report_html(self, request, report, period, *, for_pdf: bool) -> str:
        query = urlencode({"start": report.start, "end": report.end})
        return render_to_string(
            "pilots/report.html",
            {
                "report": report,
                "period": period,
                "reward": format_money(report.pilot.reward_amount, report.pilot.reward_currency),
                "for_pdf": for_pdf,
                "pdf_url": reverse("admin:pilots_pilot_report_pdf", args=[report.pilot.pk])
                + "?"
                + query,
                "csv_url": reverse("admin:pilots_pilot_report_csv", args=[report.pilot.pk])
                + "?"
                + query,
            },
            request=None if for_pdf else request,
        )

    def report_view(self, request, pk: int):
        report, period = self._report(request, pk)
        return HttpResponse(self._report_html(request, report, period, for_pdf=False))

    def report_pdf_view(self, request, pk: int):
        report, period = self._report(request, pk)
        response = HttpResponse(
            html_to_pdf(self._report_html(request, report, period, for_pdf=True)),
            content_type="application/pdf",
        )
        name = f"{report.pilot.slug}-report-{report.start}-{report.end}.pdf"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def report_csv_view(self, request, pk: int):
        from django.utils.translation import gettext

        report, _period = self._report(request, pk)
        rows = [
            [
                section.title,
                figure.name,
                None if figure.value is None else round(figure.value, 1),
                round(figure.target),
                None if figure.value is None else figure.passed,
            ]
            for section in (report.overall, *report.sites)
            for figure in section.figures
        ]
        return csv_response(
            header=[
                gettext("business"),
                gettext("target"),
                gettext("achieved"),
                gettext("target value"),
                gettext("passed"),
            ],
            rows=rows,
            filename=f"{report.pilot.slug}-report-{report.start}-{report.end}.csv",
        )

    @admin.display(description=_("report"))
    def report_link(self, pilot: Pilot) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:pilots_pilot_report", args=[pilot.pk]),
            gettext("success report"),
        )

    @admin.display(description=_("reward"))
    def reward(self, pilot: Pilot) -> str:
        return format_money(pilot.reward_amount, pilot.reward_currency)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Enrollment:
            return super().save_formset(request, form, formset, change)
        # What the admin's own change message reads after a formset save.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if not inline_form.has_changed() or not inline_form.cleaned_data:
                continue
            enrollment = inline_form.instance
            try:
                if enrollment.pk is None:
                    created = services.enrollment_create(
                        pilot=form.instance,
                        business=inline_form.cleaned_data["business"],
                        trial_limit=inline_form.cleaned_data["trial_limit"],
                        actor=request.user,
                    )
                    formset.new_objects.append(created)
                elif "trial_limit" in inline_form.changed_data:
                    services.enrollment_trial_limit_set(
                        enrollment=enrollment,
                        trial_limit=inline_form.cleaned_data["trial_limit"],
                        actor=request.user,
                    )
                    formset.changed_objects.append((enrollment, ["trial_limit"]))
            except ValidationError as error:
                report_errors(request, error)
        return None

    def _transition(self, request, queryset, service, done):
        run_for_each(request, queryset, service, keyword="pilot", done=done)

    @admin.action(description=_("Activate selected pilots"), permissions=["change"])
    def activate(self, request, queryset):
        self._transition(
            request,
            queryset,
            services.pilot_activate,
            lambda n: (
                ngettext("%(count)d pilot activated.", "%(count)d pilots activated.", n)
                % {"count": n}
            ),
        )

    @admin.action(description=_("Pause selected pilots"), permissions=["change"])
    def pause(self, request, queryset):
        self._transition(
            request,
            queryset,
            services.pilot_pause,
            lambda n: (
                ngettext("%(count)d pilot paused.", "%(count)d pilots paused.", n) % {"count": n}
            ),
        )

    @admin.action(description=_("Resume selected pilots"), permissions=["change"])
    def resume(self, request, queryset):
        self._transition(
            request,
            queryset,
            services.pilot_resume,
            lambda n: (
                ngettext("%(count)d pilot resumed.", "%(count)d pilots resumed.", n) % {"count": n}
            ),
        )

    @admin.action(description=_("Complete selected pilots"), permissions=["change"])
    def complete(self, request, queryset):
        self._transition(
            request,
            queryset,
            services.pilot_complete,
            lambda n: (
                ngettext("%(count)d pilot completed.", "%(count)d pilots completed.", n)
                % {"count": n}
            ),
        )

    @admin.action(description=_("Cancel selected pilots"), permissions=["change"])
    def cancel(self, request, queryset):
        self._transition(
            request,
            queryset,
            services.pilot_cancel,
            lambda n: (
                ngettext("%(count)d pilot cancelled.", "%(count)d pilots cancelled.", n)
                % {"count": n}
            ),
        )


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    form = EnrollmentForm
    list_display = (
        "business",
        "pilot",
        "status",
        "feedback_count",
        "trial_limit",
        "created_at",
        "ended_at",
    )
    list_filter = ("status", "pilot")
    list_select_related = ("business", "pilot")
    search_fields = ("business__name", "pilot__name")
    autocomplete_fields = ("business", "pilot")
    readonly_fields = ("status", "feedback_count", "ended_at")
    inlines = (EventInline,)
    actions = ("withdraw",)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ("pilot", "business", "status", "feedback_count", "ended_at")
        return self.readonly_fields

    def get_changeform_initial_data(self, request):
        return {"trial_limit": Pilot._meta.get_field("default_trial_limit").default}

    def save_model(self, request, obj, form, change):
        if change:
            services.enrollment_trial_limit_set(
                enrollment=obj, trial_limit=form.cleaned_data["trial_limit"], actor=request.user
            )
            return
        created = services.enrollment_create(
            pilot=form.cleaned_data["pilot"],
            business=form.cleaned_data["business"],
            trial_limit=form.cleaned_data["trial_limit"],
            actor=request.user,
        )
        obj.pk = created.pk

    @admin.action(description=_("Withdraw selected enrollments"), permissions=["change"])
    def withdraw(self, request, queryset):
        run_for_each(
            request,
            queryset,
            services.enrollment_withdraw,
            keyword="enrollment",
            done=lambda n: (
                ngettext("%(count)d enrollment withdrawn.", "%(count)d enrollments withdrawn.", n)
                % {"count": n}
            ),
        )


# ------------------------------------------------------------------------------
# QR codes
# ------------------------------------------------------------------------------
def download_links(code: QRCode) -> str:
    return format_html(
        '<a href="{}">PNG</a> · <a href="{}">SVG</a>',
        reverse("admin:pilots_qrcode_png", args=[code.pk]),
        reverse("admin:pilots_qrcode_svg", args=[code.pk]),
    )


@admin.register(QRCode)
class QRCodeAdmin(admin.ModelAdmin):
    """Codes are issued by *generate*, never typed in; a code's page is read-only."""

    list_display = ("placement", "business", "status", "created_at", "downloads")
    list_filter = ("status", ("business", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("business",)
    search_fields = ("placement", "business__name")
    fields = (
        "business",
        "placement",
        "status",
        "public_url",
        "preview",
        "created_at",
        "revoked_at",
        "replaced_by",
    )
    readonly_fields = fields
    inlines = (EventInline,)
    actions = ("revoke", "regenerate", "print_sheet", "print_sheet_pdf")

    def has_change_permission(self, request, obj=None) -> bool:
        # Actions (revoke, regenerate) need the change permission; the form never does.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: a deleted token could come back

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:pilots_qrcode_generate"))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("generate/", view(self.generate_view), name="pilots_qrcode_generate"),
            path("sheet/", view(self.sheet_view), name="pilots_qrcode_sheet"),
            path("sheet.pdf", view(self.sheet_pdf_view), name="pilots_qrcode_sheet_pdf"),
            path("<int:pk>/png/", view(self.png_view), name="pilots_qrcode_png"),
            path("<int:pk>/svg/", view(self.svg_view), name="pilots_qrcode_svg"),
            *super().get_urls(),
        ]

    @admin.display(description=_("download"))
    def downloads(self, code: QRCode) -> str:
        return download_links(code)

    @admin.display(description=_("public URL"))
    def public_url(self, code: QRCode) -> str:
        return code.public_url

    @admin.display(description=_("code"))
    def preview(self, code: QRCode) -> str:
        # The SVG is built by pilots.qr from the module matrix; its title is escaped there.
        svg = mark_safe(qr_svg(code.public_url, title=str(code)))  # noqa: S308
        return format_html('<div style="width:160px">{}</div>{}', svg, download_links(code))

    # --- actions ------------------------------------------------------------------
    @admin.action(description=_("Revoke selected codes"), permissions=["change"])
    def revoke(self, request, queryset):
        run_for_each(
            request,
            queryset,
            services.qr_code_revoke,
            keyword="qr_code",
            done=lambda n: (
                ngettext("%(count)d code revoked.", "%(count)d codes revoked.", n) % {"count": n}
            ),
        )

    @admin.action(
        description=_("Regenerate selected codes (new token, same placement)"),
        permissions=["change"],
    )
    def regenerate(self, request, queryset):
        """Regenerate, then offer the new codes' cards for printing (the old cards stop working)."""
        issued = []
        for code in queryset:
            try:
                issued.append(services.qr_code_regenerate(qr_code=code, actor=request.user))
            except ValidationError as error:
                report_errors(request, error)
        if issued:
            ids = ",".join(str(code.pk) for code in issued)
            sheet = reverse("admin:pilots_qrcode_sheet") + "?" + urlencode({"ids": ids})
            messages.success(
                request,
                format_html(
                    '{} <a href="{}" id="print-regenerated">{}</a>.',
                    ngettext(
                        "%(count)d code regenerated: the printed card of the old one no longer "
                        "works.",
                        "%(count)d codes regenerated: the printed cards of the old ones no longer "
                        "work.",
                        len(issued),
                    )
                    % {"count": len(issued)},
                    sheet,
                    gettext("Print the new cards"),
                ),
            )

    @admin.action(description=_("Print sheet of selected codes"))
    def print_sheet(self, request, queryset):
        return self._redirect_to_sheet("admin:pilots_qrcode_sheet", queryset)

    @admin.action(description=_("Download PDF sheet of selected codes"))
    def print_sheet_pdf(self, request, queryset):
        return self._redirect_to_sheet("admin:pilots_qrcode_sheet_pdf", queryset)

    def _redirect_to_sheet(self, url_name: str, queryset) -> HttpResponse:
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return HttpResponseRedirect(reverse(url_name) + "?" + urlencode({"ids": ids}))

    # --- views --------------------------------------------------------------------
    def _require(self, request, allowed: bool) -> None:
        if not allowed:
            raise PermissionDenied

    def generate_view(self, request):
        self._require(request, self.has_add_permission(request))
        form = QRCodeGenerateForm(request.POST or None, admin_site=self.admin_site)
        if request.method == "POST" and form.is_valid():
            try:
                codes = services.qr_codes_generate(
                    business=form.cleaned_data["business"],
                    placements=form.cleaned_data["placements"],
                    actor=request.user,
                )
            except ValidationError as error:
                form.add_error("placements", error)
            else:
                messages.success(
                    request,
                    ngettext(
                        "%(count)d code issued for %(business)s.",
                        "%(count)d codes issued for %(business)s.",
                        len(codes),
                    )
                    % {"count": len(codes), "business": form.cleaned_data["business"]},
                )
                sheet = (
                    reverse("admin:pilots_qrcode_sheet")
                    + "?"
                    + urlencode({"ids": ",".join(str(code.pk) for code in codes)})
                )
                changelist = (
                    reverse("admin:pilots_qrcode_changelist")
                    + "?"
                    + urlencode({"business__id__exact": form.cleaned_data["business"].pk})
                )
                messages.info(
                    request,
                    format_html(
                        '<a href="{}">{}</a>.', sheet, gettext("Print the table cards for them")
                    ),
                )
                return HttpResponseRedirect(changelist)
        status = 400 if request.method == "POST" else 200
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Generate QR codes"),
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(
            request, "admin/pilots/qrcode/generate.html", context, status=status
        )

    def _sheet_codes(self, request):
        self._require(request, self.has_view_permission(request))
        selection = SheetSelectionForm(request.GET)
        if not selection.is_valid():
            return None, selection
        return selection.codes(), selection

    def sheet_view(self, request):
        codes, selection = self._sheet_codes(request)
        if codes is None:
            return self._bad_selection(request, selection)
        pdf_url = reverse("admin:pilots_qrcode_sheet_pdf") + "?" + request.GET.urlencode()
        return HttpResponse(sheet_html(codes, pdf_url=pdf_url))

    def sheet_pdf_view(self, request):
        codes, selection = self._sheet_codes(request)
        if codes is None:
            return self._bad_selection(request, selection)
        return sheet_pdf_response(codes, filename=selection.filename())

    def _bad_selection(self, request, selection) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Nothing to print"),
            "errors": [error for errors in selection.errors.values() for error in errors],
        }
        return TemplateResponse(
            request, "admin/pilots/qrcode/nothing_to_print.html", context, status=400
        )

    def _image(self, request, pk: int, content_type: str, render, extension: str):
        self._require(request, self.has_view_permission(request))
        code = get_object_or_404(QRCode.objects.select_related("business"), pk=pk)
        response = HttpResponse(render(code.public_url), content_type=content_type)
        name = slugify(f"{code.business.name}-{code.placement}") or f"qr-{code.pk}"
        response["Content-Disposition"] = f'attachment; filename="{name}.{extension}"'
        return response

    def png_view(self, request, pk: int):
        return self._image(request, pk, "image/png", qr_png, "png")

    def svg_view(self, request, pk: int):
        return self._image(request, pk, "image/svg+xml", qr_svg, "svg")
