"""Support's settings in the admin: calendars, SLA policies, canned replies and staff links."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import EventInline, run_for_each
from support import services
from support.cards import staff_card_html
from support.models import (
    CannedReply,
    ClosedDate,
    OpeningWindow,
    SLAPolicy,
    StaffLink,
    SupportCalendar,
)


class OpeningWindowInline(admin.TabularInline):
    model = OpeningWindow
    extra = 0


class ClosedDateInline(admin.TabularInline):
    model = ClosedDate
    extra = 0


@admin.register(SupportCalendar)
class SupportCalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "timezone", "holiday_country")
    inlines = (OpeningWindowInline, ClosedDateInline)


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ("title", "category")
    list_filter = ("category",)
    search_fields = ("title", "body")


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "priority",
        "first_response_minutes",
        "resolution_minutes",
        "calendar",
        "warning_share",
    )


@admin.register(StaffLink)
class StaffLinkAdmin(admin.ModelAdmin):
    list_display = ("business", "status", "created_at", "revoked_at", "link")
    list_filter = ("status",)
    list_select_related = ("business",)
    search_fields = ("business__name",)
    fields = ("business", "status", "link", "created_at", "revoked_at")
    readonly_fields = ("status", "link", "created_at", "revoked_at")
    autocomplete_fields = ("business",)
    actions = ("revoke",)
    inlines = (EventInline,)

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "business") if obj else self.readonly_fields

    @admin.display(description=_("link"))
    def link(self, staff_link: StaffLink) -> str:
        if not staff_link.pk:
            return "—"
        if staff_link.status != StaffLink.Status.ACTIVE:
            return gettext("revoked")
        card = reverse("admin:support_stafflink_card", args=[staff_link.pk])
        return format_html(
            '{} · <a href="{}">{}</a>', staff_link.public_url, card, gettext("print card")
        )

    def save_model(self, request, obj, form, change):
        if not change:
            issued = services.staff_link_issue(
                business=form.cleaned_data["business"], actor=request.user
            )
            obj.pk = issued.pk

    def get_urls(self):
        return [
            path(
                "<int:pk>/card/",
                self.admin_site.admin_view(self.card_view),
                name="support_stafflink_card",
            ),
            *super().get_urls(),
        ]

    def card_view(self, request, pk: int):
        """The printable staff card: the link as a QR code and as text."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        staff_link = get_object_or_404(
            StaffLink.objects.select_related("business"), pk=pk, status=StaffLink.Status.ACTIVE
        )
        return HttpResponse(staff_card_html(staff_link))

    @admin.action(description=_("Revoke selected staff links"), permissions=["change"])
    def revoke(self, request, queryset):
        run_for_each(
            request,
            queryset,
            services.staff_link_revoke,
            keyword="link",
            done=gettext("staff link(s) revoked"),
        )
