"""The support agent's admin: a triage queue ordered by SLA urgency, and the ticket page.

Every change goes through `support.services`; the list stays flat at any size
(a fixed number of queries, a capped count).
"""

from datetime import timedelta
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.admin import (
    CappedCountPaginator,
    ContactDataAdminMixin,
    CsvExportMixin,
    FullTextSearchMixin,
    ReadOnlyInlineMixin,
    SuperuserDeletesMixin,
    report_errors,
    run_for_each,
)
from core.forms import ReportPeriodForm
from core.logging import redact_contact_data
from core.privacy import mask_name
from pilots.selectors import local_day_bounds
from support import (
    admin_settings,  # noqa: F401 - registers calendars, SLA policies, staff links
    incidents,
    notices,
    selectors,
    services,
    sla,
)
from support.admin_on_call import CafeNoticeInline, EscalationInline
from support.admin_workspace import IncidentWorkspaceMixin, TicketWorkspaceMixin
from support.business_time import between
from support.models import (
    Incident,
    IncidentUpdate,
    Priority,
    Ticket,
    TicketPhoto,
    Urgency,
)

# The stored urgency key (support.sla.urgency_refresh), read through its index.
URGENCY_ORDER = ("urgency_rank", "urgency_due_at", "pk")
OPEN_INCIDENTS_FIRST = (
    Case(
        When(status="resolved", then=Value(1)), default=Value(0), output_field=IntegerField()
    ).asc(),
    F("severity").asc(),
    F("detected_at").desc(),
)

PRIORITY_COLOURS = {"P0": "#ba2121", "P1": "#d35400", "P2": "#2c7bb6", "P3": "#777"}


def business_duration(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return gettext("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    return gettext("%(minutes)d min") % {"minutes": minutes}


class QueueFilter(admin.SimpleListFilter):
    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("mine", _("Mine")),
            ("unassigned", _("Unassigned")),
            ("breached", _("Breached")),
            ("due_soon", _("Due within 1 hour")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        match self.value():
            case "mine":
                return queryset.filter(assignee=request.user)
            case "unassigned":
                return queryset.filter(assignee__isnull=True)
            case "breached":
                return queryset.filter(
                    urgency_rank__in=[Urgency.OPEN_BREACHED, Urgency.DONE_BREACHED]
                )
            case "due_soon":
                # The key's due time is the earliest of the two, so its index range holds
                # every ticket due soon; the second filter leaves out paused clocks.
                soon = now + timedelta(hours=1)
                return queryset.filter(
                    urgency_rank__lte=Urgency.OPEN,
                    urgency_due_at__lte=soon,
                ).filter(
                    Q(first_response_at__isnull=True, response_due_at__lte=soon)
                    | Q(resolution_due_at__lte=soon, paused_at__isnull=True)
                )
        return queryset


class TimelineInline(ReadOnlyInlineMixin, admin.TabularInline):
    """A ticket's or incident's timeline, oldest first, read-only."""

    fields = ("created_at", "public", "author", "body")
    readonly_fields = fields
    verbose_name_plural = _("timeline")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")


@admin.register(Ticket)
class TicketAdmin(
    TicketWorkspaceMixin,
    SuperuserDeletesMixin,
    ContactDataAdminMixin,
    FullTextSearchMixin,
    CsvExportMixin,
    admin.ModelAdmin,
):
    # Narrow enough for 1280 px with both sidebars open: the café under the title.
    list_display = ("ticket", "priority_badge", "status", "assignee", "sla_badge")
    list_filter = (QueueFilter, "priority", "status", "business")
    list_select_related = ("business", "assignee", "calendar")
    search_fields = ("=reference", "title")
    full_text_fields = ("title",)
    exact_search_fields = ("reference",)
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    # Reporters' names and contacts stay out of exports.
    csv_columns = (
        ("reference", _("reference")),
        ("created_at", _("created")),
        ("title", _("title")),
        ("business__name", _("business")),
        ("category", _("category")),
        ("priority", _("priority")),
        ("status", _("status")),
        ("assignee__username", _("assignee")),
        ("source", _("source")),
        ("response_due_at", _("response due")),
        ("first_response_at", _("first response")),
        ("resolution_due_at", _("resolution due")),
        ("resolved_at", _("resolved at")),
        ("response_breached_at", _("response breached")),
        ("resolution_breached_at", _("resolution breached")),
        ("escalation_level", _("escalation level")),
    )
    autocomplete_fields = ("business",)
    inlines = (EscalationInline,)  # the conversation shows the timeline
    actions = (
        "declare_incident",
        "acknowledge",
        "assign_to_me",
        "priority_p0",
        "priority_p1",
        "priority_p2",
        "priority_p3",
        "status_in_progress",
        "status_waiting",
        "status_resolved",
        "status_closed",
    )
    change_form_template = "admin/support/ticket/change_form.html"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "reference",
                    "title",
                    "description",
                    "business",
                    "pilot",
                    "attached_photo",
                )
            },
        ),
        (_("Triage"), {"fields": ("category", "source")}),
        (_("Reporter"), {"fields": ("reporter_name", "reporter_contact", "reporter_masked")}),
        (
            _("SLA clock"),
            {
                "classes": ("collapse",),
                "fields": (
                    "response_due_at",
                    "first_response_at",
                    "resolution_due_at",
                    "paused_at",
                    "stood_still",
                    "response_breached_at",
                    "resolution_breached_at",
                    "escalation_level",
                ),
            },
        ),
    )
    readonly_fields = (
        "reference",
        "attached_photo",
        "reporter_masked",
        "priority",
        "status",
        "assignee",
        "source",
        "response_due_at",
        "first_response_at",
        "resolution_due_at",
        "paused_at",
        "stood_still",
        "response_breached_at",
        "resolution_breached_at",
        "escalation_level",
    )

    def get_csv_columns(self, request):
        # The titles in the reader's language now: the file is written after the response.
        return tuple((lookup, str(title)) for lookup, title in self.csv_columns)

    def get_ordering(self, request):
        """Urgent first: open before done, breached before not, then the nearest due time."""
        return URGENCY_ORDER

    def save_model(self, request, obj, form, change):
        if change:
            services.ticket_update_details(
                ticket=obj,
                changes={name: form.cleaned_data[name] for name in form.changed_data},
                actor=request.user,
            )
            return
        created = services.ticket_create(
            title=form.cleaned_data["title"],
            description=form.cleaned_data.get("description", ""),
            category=form.cleaned_data.get("category", Ticket.Category.OTHER),
            business=form.cleaned_data.get("business"),
            pilot=form.cleaned_data.get("pilot"),
            reporter_name=form.cleaned_data.get("reporter_name", ""),
            reporter_contact=form.cleaned_data.get("reporter_contact", ""),
            actor=request.user,
        )
        obj.pk = created.pk

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return (
                (None, {"fields": ("title", "description", "business", "pilot", "category")}),
                (_("Reporter"), {"fields": ("reporter_name", "reporter_contact")}),
            )
        return super().get_fieldsets(request, obj)  # contact fields only for those allowed

    @admin.display(description=_("reporter (contact data masked)"))
    def reporter_masked(self, ticket: Ticket) -> str:
        return (
            " · ".join(
                filter(
                    None,
                    [
                        mask_name(redact_contact_data(ticket.reporter_name)),
                        redact_contact_data(ticket.reporter_contact),
                    ],
                )
            )
            or "—"
        )

    @admin.display(description=_("resolution clock stood still"))
    def stood_still(self, ticket: Ticket) -> str:
        """Business time waiting on the reporter or resolved, on the ticket's calendar."""
        if ticket.pk is None:
            return "—"
        now = timezone.now()
        running = sla.time_used(ticket, sla.RESOLUTION, until=now)
        elapsed = between(ticket.calendar.business_calendar(), ticket.clock_started_at, now)
        return business_duration(elapsed - running)

    @admin.display(description=_("ticket"))
    def ticket(self, ticket: Ticket) -> str:
        return format_html(
            '{}<br><small style="color:var(--body-quiet-color)">{} · {}</small>',
            Truncator(ticket.title).chars(70),
            ticket.reference,
            ticket.business.name if ticket.business_id else gettext("no café"),
        )

    @admin.display(description=_("priority"), ordering="priority")
    def priority_badge(self, ticket: Ticket) -> str:
        return format_html(
            '<span style="background:{};color:#fff;padding:1px 6px;border-radius:3px">{}</span>',
            PRIORITY_COLOURS[ticket.priority],
            ticket.priority,
        )

    @admin.display(description=_("SLA: next target"))
    def sla_badge(self, ticket: Ticket) -> str:
        """The target that comes due first: its name, its due time (local) and the time left."""
        if not ticket.is_open:
            return "—"
        running = []
        if ticket.first_response_at is None:
            running.append(sla.RESPONSE)
        if ticket.paused_at is None:
            running.append(sla.RESOLUTION)
        if not running:
            return format_html(
                "<strong>{}</strong><br>{}",
                gettext("Resolution"),
                gettext("paused (waiting on reporter)"),
            )
        metric = min(running, key=lambda name: sla.due_at(ticket, name))
        due = timezone.localtime(sla.due_at(ticket, metric))
        left = sla.time_left(ticket, metric, now=timezone.now())
        name = selectors.CLOCK_NAMES[metric]
        when = (
            date_format(due, "H:i")
            if due.date() == timezone.localdate()
            else date_format(due, gettext("D d M H:i"))
        )
        if left <= timedelta(0):
            return format_html(
                '<strong>{}</strong><br>{}<br><strong style="color:#ba2121">✗ {}</strong>',
                name,
                gettext("due %(when)s") % {"when": when},
                gettext("%(duration)s overdue") % {"duration": business_duration(left)},
            )
        soon = left < timedelta(hours=1)
        return format_html(
            '<strong>{}</strong><br>{}<br><span style="color:{}">{}{}</span>',
            name,
            gettext("due %(when)s") % {"when": when},
            "#b35900" if soon else "inherit",
            "! " if soon else "",
            gettext("%(duration)s left") % {"duration": business_duration(left)},
        )

    # --- actions -------------------------------------------------------------
    @admin.action(description=_("Declare an incident for selected tickets"), permissions=["change"])
    def declare_incident(self, request, queryset):
        incident = incidents.incident_declare_from_tickets(
            tickets=list(queryset), actor=request.user
        )
        messages.success(
            request,
            gettext("%(reference)s declared and linked.") % {"reference": incident.reference},
        )
        return HttpResponseRedirect(reverse("admin:support_incident_change", args=[incident.pk]))

    @admin.action(
        description=_("Acknowledge selected tickets (stops paging)"), permissions=["change"]
    )
    def acknowledge(self, request, queryset):
        acknowledge = partial(services.ticket_acknowledge, actor=request.user)
        run_for_each(
            request, queryset, acknowledge, keyword="ticket", done=gettext("ticket(s) acknowledged")
        )

    @admin.action(description=_("Assign selected tickets to me"), permissions=["change"])
    def assign_to_me(self, request, queryset):
        assign = partial(services.ticket_assign, assignee=request.user)
        run_for_each(
            request, queryset, assign, keyword="ticket", done=gettext("ticket(s) assigned to you")
        )

    def _priority(self, request, queryset, priority: str):
        change = partial(services.ticket_set_priority, priority=priority)
        run_for_each(
            request,
            queryset,
            change,
            keyword="ticket",
            done=gettext("ticket(s) set to %(priority)s") % {"priority": priority},
        )

    @admin.action(description=_("Set priority P0 critical"), permissions=["change"])
    def priority_p0(self, request, queryset):
        self._priority(request, queryset, Priority.P0)

    @admin.action(description=_("Set priority P1 high"), permissions=["change"])
    def priority_p1(self, request, queryset):
        self._priority(request, queryset, Priority.P1)

    @admin.action(description=_("Set priority P2 medium"), permissions=["change"])
    def priority_p2(self, request, queryset):
        self._priority(request, queryset, Priority.P2)

    @admin.action(description=_("Set priority P3 low"), permissions=["change"])
    def priority_p3(self, request, queryset):
        self._priority(request, queryset, Priority.P3)

    def _status(self, request, queryset, status: str):
        change = partial(services.ticket_set_status, status=status)
        label = str(Ticket.Status(status).label).lower()
        done = gettext("ticket(s) set to %(status)s") % {"status": label}
        run_for_each(request, queryset, change, keyword="ticket", done=done)

    @admin.action(description=_("Set status: in progress"), permissions=["change"])
    def status_in_progress(self, request, queryset):
        self._status(request, queryset, Ticket.Status.IN_PROGRESS)

    @admin.action(description=_("Set status: waiting on reporter"), permissions=["change"])
    def status_waiting(self, request, queryset):
        self._status(request, queryset, Ticket.Status.WAITING)

    @admin.action(description=_("Set status: resolved"), permissions=["change"])
    def status_resolved(self, request, queryset):
        self._status(request, queryset, Ticket.Status.RESOLVED)

    @admin.action(description=_("Set status: closed"), permissions=["change"])
    def status_closed(self, request, queryset):
        self._status(request, queryset, Ticket.Status.CLOSED)

    # --- reports ---------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("reports/", view(self.reports_view), name="support_ticket_reports"),
            path("<int:pk>/photo/", view(self.photo_view), name="support_ticket_photo"),
            *super().get_urls(),
        ]

    @admin.display(description=_("photo"))
    def attached_photo(self, ticket: Ticket) -> str:
        attached = TicketPhoto.objects.filter(ticket_id=ticket.pk).only("width", "height").first()
        if attached is None:
            return "—"
        url = reverse("admin:support_ticket_photo", args=[ticket.pk])
        return format_html(
            '<a href="{}"><img src="{}" alt="{}" '
            'style="max-width:320px;max-height:320px"></a> {}×{}',
            url,
            url,
            gettext("Photo from the staff report"),
            attached.width,
            attached.height,
        )

    def photo_view(self, request, pk: int):
        """The photo attached to a staff report: only to staff who may view the ticket."""
        ticket = get_object_or_404(Ticket, pk=pk)
        if not self.has_view_permission(request, ticket):
            raise PermissionDenied
        attached = get_object_or_404(TicketPhoto, ticket=ticket)
        response = HttpResponse(bytes(attached.content), content_type=attached.content_type)
        response["Content-Disposition"] = f'inline; filename="{ticket.reference}-photo"'
        response["Cache-Control"] = "private, no-store"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    def reports_view(self, request):
        """SLA attainment, mean business times and the backlog's age for a chosen period."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ReportPeriodForm(request.GET or None)
        today = timezone.localdate()
        start, end = today - timedelta(days=30), today
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        opens, closes = local_day_bounds(start, end)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Support reports"),
            "form": form
            if form.is_bound
            else ReportPeriodForm(initial={"start": start, "end": end}),
            "start": start,
            "end": end,
            "attainment": selectors.sla_attainment(start=opens, end=closes),
            "mean_times": selectors.mean_business_times(start=opens, end=closes),
            "backlog": selectors.backlog_by_age(),
            "incident_times": incidents.incident_response_times(),
            "paging": selectors.paging_figures(start=start, end=end),
        }
        return TemplateResponse(request, "admin/support/ticket/reports.html", context)


# ------------------------------------------------------------------------------
# Incidents
# ------------------------------------------------------------------------------
class IncidentUpdateInline(TimelineInline):
    model = IncidentUpdate
    fields = readonly_fields = ("created_at", "status", "public", "author", "text")

    @admin.display(description=_("update"))
    def text(self, update: IncidentUpdate) -> str:
        return selectors.incident_update_text(update)


class ResolveForm(forms.Form):
    root_cause = forms.CharField(
        label=_("Root cause"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        required=False,
    )
    corrective_actions = forms.CharField(
        label=_("Corrective actions"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        required=False,
    )


class IncidentUpdateForm(forms.Form):
    body = forms.CharField(label=_("Update"), widget=forms.Textarea(attrs={"rows": 3, "cols": 80}))
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("(no change)"))]
        + [c for c in Incident.Status.choices if c[0] != Incident.Status.RESOLVED],
        required=False,
    )
    public = forms.BooleanField(label=_("Public"), required=False)
    next_update_in_minutes = forms.IntegerField(
        required=False,
        min_value=5,
        max_value=24 * 60,
        label=_("Next update in (minutes)"),
        help_text=_("Shown to affected cafés with a public update."),
    )


@admin.register(Incident)
class IncidentAdmin(IncidentWorkspaceMixin, SuperuserDeletesMixin, admin.ModelAdmin):
    list_display = (
        "reference",
        "title",
        "severity",
        "status",
        "commander",
        "detected_at",
        "duration",
    )
    list_filter = ("severity", "status", "businesses")
    list_select_related = ("commander",)
    search_fields = ("=reference", "title")
    full_text_fields = ("title",)
    exact_search_fields = ("reference",)
    filter_horizontal = ("businesses",)
    inlines = (EscalationInline, CafeNoticeInline, IncidentUpdateInline)
    actions = ("acknowledge", "resolve")
    change_form_template = "admin/support/incident/change_form.html"
    fields = (
        "reference",
        "title",
        "severity",
        "status",
        "commander",
        "businesses",
        "expected_downtime_minutes",
        "detected_at",
        "acknowledged_at",
        "mitigated_at",
        "resolved_at",
        "summary",
        "impact",
        "root_cause",
        "corrective_actions",
        "alert_fingerprint",
    )
    readonly_fields = (
        "reference",
        "severity",
        "status",
        "detected_at",
        "acknowledged_at",
        "mitigated_at",
        "resolved_at",
        "alert_fingerprint",
    )

    def get_ordering(self, request):
        return OPEN_INCIDENTS_FIRST

    def get_readonly_fields(self, request, obj=None):
        return (
            self.readonly_fields
            if obj
            else (
                "reference",
                "status",
                "acknowledged_at",
                "mitigated_at",
                "resolved_at",
                "alert_fingerprint",
            )
        )

    @admin.display(description=_("duration"))
    def duration(self, incident: Incident) -> str:
        end = incident.resolved_at or timezone.now()
        return business_duration(end - incident.detected_at)

    def save_model(self, request, obj, form, change):
        if change:
            incidents.incident_edit(
                incident=obj,
                changes={
                    name: form.cleaned_data[name]
                    for name in form.changed_data
                    if name != "businesses"  # many-to-many: saved with the form
                },
                actor=request.user,
            )
            return
        created = incidents.incident_declare(
            title=form.cleaned_data["title"],
            severity=form.cleaned_data["severity"],
            commander=form.cleaned_data.get("commander"),
            detected_at=form.cleaned_data.get("detected_at"),
            expected_downtime_minutes=form.cleaned_data.get("expected_downtime_minutes"),
            actor=request.user,
        )
        obj.pk = created.pk

    def save_related(self, request, form, formsets, change):
        """The affected businesses are saved with the form: then the cafés are told."""
        super().save_related(request, form, formsets, change)
        notices.cafe_notices_send(incident=form.instance)

    @admin.action(description=_("Acknowledge selected incidents"), permissions=["change"])
    def acknowledge(self, request, queryset):
        run_for_each(
            request,
            queryset,
            incidents.incident_acknowledge,
            keyword="incident",
            done=gettext("incident(s) acknowledged"),
        )

    @admin.action(description=_("Resolve selected incidents…"), permissions=["change"])
    def resolve(self, request, queryset):
        form = ResolveForm(request.POST if "root_cause" in request.POST else None)
        if form.is_bound and form.is_valid():
            for incident in queryset:
                try:
                    incidents.incident_resolve(
                        incident=incident, actor=request.user, **form.cleaned_data
                    )
                except ValidationError as error:
                    report_errors(request, error)
                else:
                    messages.success(
                        request,
                        gettext("%(reference)s resolved.") % {"reference": incident.reference},
                    )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Resolve incidents"),
            "form": form,
            "incidents": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/support/incident/resolve.html", context)

    def get_urls(self):
        return [
            path(
                "<int:pk>/post-update/",
                self.admin_site.admin_view(require_POST(self.post_update_view)),
                name="support_incident_post_update",
            ),
            *super().get_urls(),
        ]

    def post_update_view(self, request, pk: int):
        incident = get_object_or_404(Incident, pk=pk)
        if not self.has_change_permission(request, incident):
            raise PermissionDenied
        form = IncidentUpdateForm(request.POST)
        if form.is_valid():
            try:
                incidents.incident_post_update(
                    incident=incident, actor=request.user, **form.cleaned_data
                )
            except ValidationError as error:
                report_errors(request, error)
            else:
                messages.success(request, gettext("Update posted."))
        else:
            messages.error(request, gettext("Write the update first."))
        return HttpResponseRedirect(reverse("admin:support_incident_change", args=[pk]))

    def render_change_form(self, request, context, *args, **kwargs):
        context["update_form"] = IncidentUpdateForm()
        return super().render_change_form(request, context, *args, **kwargs)
