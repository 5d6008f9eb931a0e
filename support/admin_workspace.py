"""The agent workspace on the ticket and incident pages.

The ticket page: conversation and composer, triage panel, SLA clocks. The
incident page: Acknowledge, Mitigate, Resolve, corrective actions opened as
tickets, and the structured postmortem.

Mixins of the two admins: every change goes through ``support.services`` or
``support.incidents``; a refused change (a resolved ticket's priority, a
SEV1 without its root cause) comes back as a message on the same page.
"""

from functools import partial

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.admin import report_errors
from core.privacy import may_see_contact_data
from support import incidents, selectors, services
from support.forms import TicketTextForm, TicketTriageForm
from support.models import Incident, Ticket, TicketEvent


class TicketWorkspaceMixin:
    def get_urls(self):
        view = self.admin_site.admin_view
        posts = (
            ("reply", self.reply_view),
            ("note", self.note_view),
            ("triage", self.triage_view),
            ("assign-to-me", self.assign_to_me_view),
            ("resolve", self.resolve_view),
            ("escalate", self.escalate_view),
        )
        return [
            *(
                path(
                    f"<int:pk>/{name}/",
                    view(require_POST(handler)),
                    name=f"support_ticket_{name.replace('-', '_')}",
                )
                for name, handler in posts
            ),
            *super().get_urls(),
        ]

    # --- reading -------------------------------------------------------------
    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["workspace"] = self.workspace(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def workspace(self, request, ticket: Ticket) -> dict:
        return {
            "can_change": self.has_change_permission(request, ticket),
            "conversation": self.conversation(ticket),
            "clocks": selectors.sla_clocks(ticket),
            "others": selectors.business_tickets(ticket),
            "canned": selectors.canned_replies_for(
                ticket, reporter_shown=may_see_contact_data(request.user)
            ),
            "triage": TicketTriageForm(
                initial={
                    "status": ticket.status,
                    "priority": ticket.priority,
                    "assignee": ticket.assignee_id,
                }
            ),
            "kinds": TicketEvent.Kind,
            "now": timezone.localtime(),
        }

    def conversation(self, ticket: Ticket) -> list[TicketEvent]:
        """The timeline, newest first, each change told in the reader's language."""
        events = list(ticket.events.select_related("author").order_by("-created_at", "-id"))
        for event in events:
            event.text = selectors.timeline_text(event)
        return events

    # --- changing ------------------------------------------------------------
    def _changeable(self, request, pk: int) -> Ticket:
        ticket = get_object_or_404(Ticket, pk=pk)
        if not self.has_change_permission(request, ticket):
            raise PermissionDenied
        return ticket

    def _back(self, pk: int) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:support_ticket_change", args=[pk]))

    def _run(self, request, pk: int, change, done: str) -> HttpResponseRedirect:
        ticket = self._changeable(request, pk)
        try:
            change(ticket)
        except ValidationError as error:
            report_errors(request, error)
        else:
            messages.success(request, done)
        return self._back(pk)

    def _text_view(self, request, pk: int, service, done: str):
        form = TicketTextForm(request.POST)
        if not form.is_valid():
            self._changeable(request, pk)
            messages.error(request, gettext("Write something first."))
            return self._back(pk)
        body = form.cleaned_data["body"]
        return self._run(
            request, pk, lambda ticket: service(ticket=ticket, body=body, actor=request.user), done
        )

    def reply_view(self, request, pk: int):
        return self._text_view(
            request, pk, services.ticket_reply, gettext("Reply sent to the reporter.")
        )

    def note_view(self, request, pk: int):
        return self._text_view(
            request, pk, services.ticket_add_note, gettext("Internal note added.")
        )

    def triage_view(self, request, pk: int):
        """Status, priority and assignee from the side panel, each through its service.

        Reopening comes before a priority change (a resolved ticket keeps its
        priority), resolving after it.
        """
        ticket = self._changeable(request, pk)
        form = TicketTriageForm(request.POST)
        if not form.is_valid():
            for field, errors in form.errors.items():
                messages.error(request, f"{field}: {' '.join(errors)}")
            return self._back(pk)
        status, priority = form.cleaned_data["status"], form.cleaned_data["priority"]
        assignee = form.cleaned_data["assignee"]
        user = request.user
        steps = []
        if assignee != ticket.assignee:
            steps.append(partial(services.ticket_assign, assignee=assignee, actor=user))
        set_status = partial(services.ticket_set_status, status=status, actor=user)
        set_priority = partial(services.ticket_set_priority, priority=priority, actor=user)
        reopening = status in Ticket.OPEN_STATUSES
        if status != ticket.status and reopening:
            steps.append(set_status)
        if priority != ticket.priority:
            steps.append(set_priority)
        if status != ticket.status and not reopening:
            steps.append(set_status)
        changed = 0
        for step in steps:
            try:
                ticket = step(ticket=ticket)
            except ValidationError as error:
                report_errors(request, error)
            else:
                changed += 1
        if changed:
            messages.success(
                request, gettext("%(reference)s updated.") % {"reference": ticket.reference}
            )
        return self._back(pk)

    def assign_to_me_view(self, request, pk: int):
        return self._run(
            request,
            pk,
            lambda t: services.ticket_assign(ticket=t, assignee=request.user, actor=request.user),
            gettext("Assigned to you."),
        )

    def resolve_view(self, request, pk: int):
        return self._run(
            request,
            pk,
            lambda t: services.ticket_set_status(
                ticket=t, status=Ticket.Status.RESOLVED, actor=request.user
            ),
            gettext("Resolved."),
        )

    def escalate_view(self, request, pk: int):
        reason = request.POST.get("reason", "")[:300].strip()
        return self._run(
            request,
            pk,
            lambda t: services.ticket_escalate(ticket=t, actor=request.user, reason=reason),
            gettext("Escalated: the on-call people for its priority are paged."),
        )


# ------------------------------------------------------------------------------
# Incidents: Acknowledge, Mitigate, Resolve on the page; the structured postmortem
# ------------------------------------------------------------------------------
class CorrectiveActionForm(forms.Form):
    description = forms.CharField(
        label=_("Description"), max_length=200, widget=forms.TextInput(attrs={"size": 50})
    )
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None)
    due_on = forms.DateField(label=_("Due on"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = (
            get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")
        )


class IncidentWorkspaceMixin:
    def get_urls(self):
        view = self.admin_site.admin_view
        posts = (
            ("acknowledge-now", self.acknowledge_view),
            ("mitigate", self.mitigate_view),
            ("resolve-now", self.resolve_now_view),
            ("corrective-action", self.corrective_action_view),
        )
        return [
            *(
                path(
                    f"<int:pk>/{name}/",
                    view(require_POST(handler)),
                    name=f"support_incident_{name.replace('-', '_')}",
                )
                for name, handler in posts
            ),
            path(
                "<int:pk>/postmortem/",
                view(self.postmortem_view),
                name="support_incident_postmortem",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["actions_form"] = CorrectiveActionForm()
            context["corrective"] = obj.actions.select_related("owner", "ticket")
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _changeable(self, request, pk: int) -> Incident:
        incident = get_object_or_404(Incident, pk=pk)
        if not self.has_change_permission(request, incident):
            raise PermissionDenied
        return incident

    def _run(self, request, pk: int, change, done: str) -> HttpResponseRedirect:
        incident = self._changeable(request, pk)
        try:
            change(incident=incident, actor=request.user)
        except ValidationError as error:
            report_errors(request, error)
        else:
            messages.success(request, done)
        return HttpResponseRedirect(reverse("admin:support_incident_change", args=[pk]))

    def acknowledge_view(self, request, pk: int):
        return self._run(request, pk, incidents.incident_acknowledge, gettext("Acknowledged."))

    def mitigate_view(self, request, pk: int):
        return self._run(
            request, pk, incidents.incident_mitigate, gettext("Mitigated: monitoring.")
        )

    def resolve_now_view(self, request, pk: int):
        """Resolve with the root cause written on the page (SEV1 and SEV2 need one)."""
        return self._run(request, pk, incidents.incident_resolve, gettext("Resolved."))

    def corrective_action_view(self, request, pk: int):
        form = CorrectiveActionForm(request.POST)
        if not form.is_valid():
            self._changeable(request, pk)
            for field, errors in form.errors.items():
                messages.error(request, f"{field.replace('_', ' ')}: {' '.join(errors)}")
            return HttpResponseRedirect(reverse("admin:support_incident_change", args=[pk]))
        return self._run(
            request,
            pk,
            partial(incidents.corrective_action_open, **form.cleaned_data),
            gettext("Corrective action opened as a ticket for its owner."),
        )

    def postmortem_view(self, request, pk: int):
        incident = get_object_or_404(Incident, pk=pk)
        if not self.has_view_permission(request, incident):
            raise PermissionDenied
        postmortem = incidents.postmortem(incident)
        for update in postmortem.timeline:
            update.text = selectors.incident_update_text(update)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": incident,
            "title": gettext("Postmortem of %(reference)s") % {"reference": incident.reference},
            "postmortem": postmortem,
        }
        return TemplateResponse(request, "admin/support/incident/postmortem.html", context)
