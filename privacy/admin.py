"""Data subject requests in the admin: for people with the *view contact data* permission only.

Every state change goes through `privacy.services`; the admin parses input,
calls the service and reports the outcome.
"""

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import ContactDataAdminMixin, EventInline, report_errors
from core.contacts import contact_normalise
from core.privacy import contact_hash, may_see_contact_data
from pilots.models import Business
from privacy import exports, papers, services
from privacy.forms import DataRequestOpenForm
from privacy.models import DataRequest


@admin.register(DataRequest)
class DataRequestAdmin(ContactDataAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "created_at",
        "contact_masked",
        "source",
        "status",
        "opened_by",
        "erased_at",
    )
    list_filter = ("status", "source")
    list_select_related = ("opened_by",)
    search_fields = ("=id",)
    search_help_text = _(
        "An id, or the person's e-mail address or mobile number (matched by its hash)."
    )
    show_full_result_count = False
    inlines = (EventInline,)
    fields = (
        "contact_masked",
        "language",
        "source",
        "status",
        "identity_check",
        "opened_by",
        "created_at",
        "found_list",
        "found_at",
        "erasure_asked_at",
        "erased_at",
        "erased_by",
        "done_list",
        "kept_list",
    )
    readonly_fields = tuple(name for name in fields if name not in ("identity_check", "language"))

    def get_search_results(self, request, queryset, search_term):
        """A contact typed in the search box finds its requests by the keyed hash."""
        try:
            contact = contact_normalise(search_term)
        except ValidationError:
            contact = None
        if contact:
            return queryset.filter(contact_hash=contact_hash(contact.value)), False
        return super().get_search_results(request, queryset, search_term)

    # Only people who may see contact data, whatever their groups hold.
    def has_module_permission(self, request) -> bool:
        return may_see_contact_data(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return may_see_contact_data(request.user)

    def has_add_permission(self, request) -> bool:
        return may_see_contact_data(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return may_see_contact_data(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("found"))
    def found_list(self, obj: DataRequest):
        return _counts(obj.found)

    @admin.display(description=_("done"))
    def done_list(self, obj: DataRequest):
        return _counts(obj.done)

    @admin.display(description=_("kept, and why"))
    def kept_list(self, obj: DataRequest):
        if not obj.kept:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "", "<li><b>{}</b>: {}</li>", ((k["what"], k["reason"]) for k in obj.kept)
            ),
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/export.json", view(self.export_json_view), name="privacy_export_json"),
            path("<int:pk>/export.pdf", view(self.export_pdf_view), name="privacy_export_pdf"),
            path("<int:pk>/erase/", view(self.erase_view), name="privacy_erase"),
            path("<int:pk>/close/", view(self.close_view), name="privacy_close"),
            path(
                "papers/<int:business_id>/<slug:paper>.<slug:language>.pdf",
                view(self.paper_pdf_view),
                name="privacy_paper_pdf",
            ),
            *super().get_urls(),
        ]

    def paper_pdf_view(self, request, business_id: int, paper: str, language: str):
        """A privacy paper for one business: for whoever may see businesses (no personal data)."""
        if not request.user.has_perm("pilots.view_business"):
            raise PermissionDenied
        if paper not in papers.PAPERS or language not in papers.LANGUAGES:
            raise Http404(gettext("There is no such paper."))
        business = get_object_or_404(Business, pk=business_id)
        response = HttpResponse(
            papers.paper_pdf(paper, language, business=business), content_type="application/pdf"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{business.slug}-{paper}-{language}.pdf"'
        )
        return response

    def _request_of(self, request, pk: int) -> DataRequest:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(DataRequest, pk=pk)

    def _change_url(self, data_request: DataRequest) -> str:
        return reverse("admin:privacy_datarequest_change", args=[data_request.pk])

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = DataRequestOpenForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data_request = services.data_request_open(
                contact=form.cleaned_data["contact"].value,
                language=form.cleaned_data["language"],
                identity_check=form.cleaned_data["identity_check"],
                actor=request.user,
            )
            messages.success(
                request, gettext("Data request %(id)s opened.") % {"id": data_request.pk}
            )
            return HttpResponseRedirect(self._change_url(data_request))
        return TemplateResponse(
            request,
            "admin/privacy/datarequest/open.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": gettext("New data subject request"),
                "form": form,
            },
            status=400 if form.errors else 200,
        )

    def export_json_view(self, request, pk: int):
        data_request = self._request_of(request, pk)
        try:
            document = exports.request_document(data_request=data_request, actor=request.user)
        except ValidationError as error:
            report_errors(request, error)
            return HttpResponseRedirect(self._change_url(data_request))
        response = HttpResponse(
            json.dumps(document, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="data-request-{data_request.pk}.json"'
        )
        return response

    def export_pdf_view(self, request, pk: int):
        data_request = self._request_of(request, pk)
        try:
            pdf = exports.request_pdf(data_request=data_request, actor=request.user)
        except ValidationError as error:
            report_errors(request, error)
            return HttpResponseRedirect(self._change_url(data_request))
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="data-request-{data_request.pk}.pdf"'
        )
        return response

    def erase_view(self, request, pk: int):
        data_request = self._request_of(request, pk)
        if not self.has_change_permission(request, data_request):
            raise PermissionDenied
        if request.method == "POST":
            try:
                services.data_request_erase(data_request=data_request, actor=request.user)
            except ValidationError as error:
                report_errors(request, error)
            else:
                messages.success(
                    request,
                    gettext("Data request %(id)s: contact erased.") % {"id": data_request.pk},
                )
            return HttpResponseRedirect(self._change_url(data_request))
        return TemplateResponse(
            request,
            "admin/privacy/datarequest/erase.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": gettext("Erase the contact of data request %(id)s?")
                % {"id": data_request.pk},
                "data_request": data_request,
                "found": _counts(data_request.found),
            },
        )

    def close_view(self, request, pk: int):
        data_request = self._request_of(request, pk)
        if request.method != "POST" or not self.has_change_permission(request, data_request):
            raise PermissionDenied
        try:
            services.data_request_close(data_request=data_request, actor=request.user)
        except ValidationError as error:
            report_errors(request, error)
        else:
            messages.success(
                request, gettext("Data request %(id)s closed.") % {"id": data_request.pk}
            )
        return HttpResponseRedirect(self._change_url(data_request))


# The keys of ``found`` and ``done`` as the services store them, in the reader's language.
KIND_LABELS = {
    "recipients": _("reward recipients"),
    "feedback": _("feedback"),
    "payments": _("payments"),
    "payouts": _("payouts"),
    "stripe_events": _("Stripe events"),
    "tickets": _("tickets"),
    "ticket_events": _("ticket timeline entries"),
    "photos": _("photos"),
    "incidents": _("incidents"),
    "incident_updates": _("incident updates"),
    "messages": _("messages"),
    "Stripe account references removed": _("Stripe account references removed"),
    "reward recipients anonymised": _("reward recipients anonymised"),
    "feedback contacts anonymised": _("feedback contacts anonymised"),
    "feedback comments redacted": _("feedback comments redacted"),
    "ticket reporters anonymised": _("ticket reporters anonymised"),
    "ticket texts redacted": _("ticket texts redacted"),
    "ticket timeline entries redacted": _("ticket timeline entries redacted"),
    "photos deleted": _("photos deleted"),
    "incident texts redacted": _("incident texts redacted"),
    "incident updates redacted": _("incident updates redacted"),
    "messages purged": _("messages purged"),
    "Stripe event payloads purged": _("Stripe event payloads purged"),
    "messages to others redacted": _("messages to others redacted"),
}


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind.replace("_", " ")))


def _counts(counts: dict) -> str:
    held = [(kind_label(kind), count) for kind, count in (counts or {}).items() if count]
    if not held:
        return gettext("nothing")
    return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", held))
