"""The on-call part of the support admin: people's pager details, rotations, policies, pages.

Rotations, overrides and policies are settings the Support agents and leads
edit here; escalations, pages and café notices are written by the engine
only and shown read-only, also inline on each ticket and incident.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import ContactDataAdminMixin, ReadOnlyAdmin, ReadOnlyInlineMixin
from core.contacts import phone_normalise
from core.privacy import mask_phone
from support import selectors
from support.models import (
    CafeNotice,
    Escalation,
    EscalationPolicy,
    EscalationStep,
    OnCallOverride,
    Page,
    Responder,
    Rotation,
    RotationMember,
)
from support.oncall import on_call_at


class ResponderForm(forms.ModelForm):
    class Meta:
        model = Responder
        fields = ("user", "mobile", "slack_member_id")

    def clean_mobile(self) -> str:
        mobile = self.cleaned_data["mobile"]
        if not mobile.strip():
            return ""
        try:
            return phone_normalise(mobile)
        except ValidationError as error:
            raise ValidationError(error.messages) from None


@admin.register(Responder)
class ResponderAdmin(admin.ModelAdmin):
    form = ResponderForm
    list_display = ("user", "masked_mobile", "slack_member_id")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    raw_id_fields = ("user",)

    @admin.display(description=_("mobile"))
    def masked_mobile(self, responder: Responder) -> str:
        return mask_phone(responder.mobile) if responder.mobile else "—"

    def get_fields(self, request, obj=None):
        # Staff mobiles are for those who arrange the rotation, not every reader.
        if obj is not None and not self.has_change_permission(request, obj):
            return ("user", "slack_member_id")
        return super().get_fields(request, obj)


class RotationMemberInline(admin.TabularInline):
    model = RotationMember
    extra = 0
    raw_id_fields = ("user",)


class OnCallOverrideInline(admin.TabularInline):
    model = OnCallOverride
    extra = 0
    raw_id_fields = ("user",)
    fields = ("tier", "user", "starts_at", "ends_at", "reason", "note")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(ends_at__gt=timezone.now())


@admin.register(Rotation)
class RotationAdmin(admin.ModelAdmin):
    list_display = ("name", "handoff", "shift_weeks", "on_call_now")
    inlines = (RotationMemberInline, OnCallOverrideInline)
    readonly_fields = ("on_call_now",)

    @admin.display(description=_("hand-off"))
    def handoff(self, rotation: Rotation) -> str:
        weekday = rotation.get_handoff_weekday_display()
        return f"{weekday} {rotation.handoff_time:%H:%M} ({rotation.timezone})"

    @admin.display(description=_("on call now"))
    def on_call_now(self, rotation: Rotation) -> str:
        if rotation.pk is None:
            return "—"
        now = on_call_at(rotation)
        nobody = gettext("nobody")
        primary = now.primary.get_username() if now.primary else nobody
        secondary = now.secondary.get_username() if now.secondary else nobody
        until = date_format(timezone.localtime(now.until), "D d M H:i") if now.until else "—"
        return gettext("primary: %(primary)s, secondary: %(secondary)s (until %(until)s)") % {
            "primary": primary,
            "secondary": secondary,
            "until": until,
        }


@admin.register(OnCallOverride)
class OnCallOverrideAdmin(admin.ModelAdmin):
    list_display = ("rotation", "tier", "user", "starts_at", "ends_at", "reason")
    list_filter = ("rotation", "tier", "reason")
    list_select_related = ("rotation", "user")
    raw_id_fields = ("user",)
    date_hierarchy = "starts_at"


class EscalationStepInline(admin.TabularInline):
    model = EscalationStep
    extra = 0
    fields = ("position", "delay_minutes", "target", "email", "slack", "sms")


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "priority", "severity", "rotation", "calendar", "sla_notice")
    list_select_related = ("rotation", "calendar")
    inlines = (EscalationStepInline,)


class PageInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Page
    fields = ("created_at", "key", "recipient", "channel", "status", "sent_at", "link_used_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recipient")


class StopReasonMixin:
    @admin.display(description=_("stop reason"))
    def stop_reason_shown(self, escalation: Escalation) -> str:
        return selectors.stop_reason_text(escalation.stop_reason) or "-"


@admin.register(Escalation)
class EscalationAdmin(StopReasonMixin, ContactDataAdminMixin, ReadOnlyAdmin):
    list_display = (
        "__str__",
        "severity",
        "status",
        "started_at",
        "escalated_at",
        "acknowledged_at",
        "acknowledged_by",
    )
    list_filter = ("status", "severity")
    list_select_related = ("ticket", "incident", "acknowledged_by")
    date_hierarchy = "started_at"
    inlines = (PageInline,)
    fields = readonly_fields = (
        "subject",
        "trigger",
        "policy",
        "severity",
        "status",
        "started_at",
        "next_step_at",
        "steps_taken",
        "escalated_at",
        "acknowledged_at",
        "acknowledged_by",
        "stopped_at",
        "stop_reason_shown",
    )

    @admin.display(description=_("ticket or incident"))
    def subject(self, escalation: Escalation) -> str:
        """What is escalated: the ticket or the incident, linked to its page."""
        row = escalation.ticket or escalation.incident
        if row is None:
            return "—"
        url = reverse(f"admin:support_{row._meta.model_name}_change", args=[row.pk])
        return format_html('<a href="{}">{}</a>', url, row)


class EscalationInline(StopReasonMixin, ReadOnlyInlineMixin, admin.TabularInline):
    """A ticket's or incident's escalations: who was paged about it and who took it."""

    model = Escalation
    fields = (
        "started_at",
        "trigger",
        "status",
        "steps_taken",
        "next_step_at",
        "acknowledged_at",
        "acknowledged_by",
        "stop_reason_shown",
    )
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = _("paging")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("acknowledged_by")


class CafeNoticeInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = CafeNotice
    fields = ("created_at", "business", "kind", "message")
    readonly_fields = fields
    verbose_name_plural = _("café notices")
