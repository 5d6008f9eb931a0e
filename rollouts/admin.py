"""Admin for flags and rollouts: the flag × tag panel, changes with reasons, the emergency button.

Every change goes through `rollouts.services`. Changing needs the rollouts
permissions, which only Pilot managers (and operators) hold; everyone else
in the back office sees the panel read-only.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from core.admin import EventInline, report_errors
from rollouts import services
from rollouts.forms import (
    GUARD_FIELDS,
    FlagAddForm,
    FlagChangeForm,
    RollBackForm,
    RolloutStartForm,
)
from rollouts.guards import BREACHED, GREEN, NOT_JUDGED, WAITING, guards_read
from rollouts.models import Flag, Rollout
from rollouts.selectors import flag_cohorts, flag_event_text, flag_history, panel_rows

BUSINESSES_SHOWN = 20
VERDICTS = {
    GREEN: _("green"),
    BREACHED: _("breached"),
    WAITING: _("waiting"),
    NOT_JUDGED: _("not judged"),
}


def verdict_text(reading) -> str:
    verdict = str(VERDICTS.get(reading.verdict, reading.verdict))
    return f"{verdict} ({reading.note})" if reading.note else verdict


def guards_table(rollout: Rollout) -> str:
    readings = guards_read(rollout, now=timezone.now())
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                reading.name,
                "—" if reading.inside is None else f"{reading.inside:.1f}",
                "—" if reading.outside is None else f"{reading.outside:.1f}",
                reading.limit,
                verdict_text(reading),
            )
            for reading in readings
        ),
    )
    return format_html(
        '<table class="guards"><thead><tr><th>{}</th><th>{}</th><th>{}</th>'
        "<th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
        gettext("guard"),
        gettext("in the flag"),
        gettext("outside"),
        gettext("threshold"),
        gettext("now"),
        rows,
    )


def stage_text(rollout: Rollout) -> str:
    started = timezone.localtime(rollout.stage_started_at)
    return gettext(
        "stage %(stage)d of %(stages)d (%(percentage)s %%), since %(since)s, "
        "soak %(soak)s min; plan %(plan)s"
    ) % {
        "stage": rollout.stage + 1,
        "stages": len(rollout.stages),
        "percentage": rollout.current_stage["percentage"],
        "since": date_format(started, "Y-m-d H:i"),
        "soak": rollout.current_stage["soak_minutes"],
        "plan": rollout.plan_text,
    }


class FlagHistoryInline(EventInline):
    fields = ("created_at", "actor", "change")
    readonly_fields = fields
    classes = ()
    verbose_name_plural = _("history (who, when, from → to: why)")

    @admin.display(description=_("change"))
    def change(self, event) -> str:
        return flag_event_text(event)


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    change_list_template = "admin/rollouts/flag/change_list.html"
    list_display = ("name", "state", "percentage", "audience", "updated_at")
    search_fields = ("name",)
    inlines = (FlagHistoryInline,)

    @admin.display(description=_("audience"))
    def audience(self, flag: Flag) -> str:
        return ", ".join(tag.name for tag in flag.tags.all()) or gettext("every business")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = FlagChangeForm if obj is not None else FlagAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("name", "override", "rollout", "businesses", "guards")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "description", "tags")
        fields = ["name", "override", "description", "state", "tags", "percentage"]
        if self.has_change_permission(request, obj):
            fields.append("reason")
        return [*fields, "rollout", "businesses", "guards"]

    @admin.display(description=_("environment"))
    def override(self, flag: Flag) -> str:
        forced = services.flags.override(flag.name)
        if forced is None:
            return gettext("not set (%(variable)s)") % {"variable": flag.override_variable}
        setting = f"{flag.override_variable}={int(forced)}"
        if forced:
            return gettext("%(setting)s: forced on") % {"setting": setting}
        return gettext("%(setting)s: forced off") % {"setting": setting}

    def _running(self, flag: Flag) -> Rollout | None:
        return flag.rollouts.filter(status=Rollout.Status.RUNNING).first()

    @admin.display(description=_("rollout"))
    def rollout(self, flag: Flag) -> str:
        running = self._running(flag)
        if running is None:
            return gettext("none running")
        url = reverse("admin:rollouts_rollout_change", args=[running.pk])
        return format_html('<a href="{}">{}</a>', url, stage_text(running))

    @admin.display(description=_("businesses it is on for"))
    def businesses(self, flag: Flag) -> str:
        inside = flag_cohorts(flag).inside
        if not inside:
            return gettext("none")
        names = ", ".join(b.name for b in inside[:BUSINESSES_SHOWN])
        if len(inside) > BUSINESSES_SHOWN:
            return gettext("%(count)d: %(names)s and %(more)d more") % {
                "count": len(inside),
                "names": names,
                "more": len(inside) - BUSINESSES_SHOWN,
            }
        return f"{len(inside)}: {names}"

    @admin.display(description=_("guards"))
    def guards(self, flag: Flag) -> str:
        running = self._running(flag)
        return guards_table(running) if running else "—"

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                services.flag_change(
                    flag=Flag.objects.get(pk=obj.pk),
                    reason=data["reason"],
                    actor=request.user,
                    state=data["state"],
                    percentage=data["percentage"],
                    tags=data["tags"],
                    description=data["description"],
                )
            else:
                created = services.flag_create(
                    name=data["name"],
                    description=data["description"],
                    tags=data["tags"],
                    actor=request.user,
                )
                obj.pk = created.pk
        except ValidationError as error:
            report_errors(request, error)

    def save_related(self, request, form, formsets, change):
        """Tags are saved by the service, with the rest of the change (no ``save_m2m``)."""
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def get_urls(self):
        return [
            path(
                "roll-back-everything/",
                self.admin_site.admin_view(require_http_methods(["GET", "POST"])(self.emergency)),
                name="rollouts_flag_roll_back_all",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        tags, rows = panel_rows()
        extra_context = {
            **(extra_context or {}),
            "panel_tags": tags,
            "panel_rows": [
                (
                    row,
                    stage_text(row.rollout) if row.rollout else "",
                    row.inside[:BUSINESSES_SHOWN],
                    guards_table(row.rollout) if row.rollout else "",
                )
                for row in rows
            ],
            "recent_changes": flag_history(None, limit=15),
            "can_roll_back": self.has_change_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def emergency(self, request):
        """One button for an emergency: every flag off, every rollout stopped."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = RollBackForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                rolled = services.flags_roll_back_all(
                    reason=form.cleaned_data["reason"], actor=request.user
                )
            except ValidationError as error:
                report_errors(request, error)
            else:
                names = ", ".join(flag.name for flag in rolled) or gettext("nothing was on")
                messages.success(request, gettext("Rolled back: %(names)s.") % {"names": names})
                return HttpResponseRedirect(reverse("admin:rollouts_flag_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Roll everything back"),
            "form": form,
            "flags_on": Flag.objects.exclude(state=Flag.State.OFF).order_by("name"),
            "running": Rollout.objects.filter(status=Rollout.Status.RUNNING).select_related("flag"),
        }
        return TemplateResponse(request, "admin/rollouts/flag/roll_back_all.html", context)


@admin.register(Rollout)
class RolloutAdmin(admin.ModelAdmin):
    form = RolloutStartForm
    list_display = ("flag", "status", "plan_text", "stage_now", "created_at", "finished_at")
    list_filter = ("status",)
    list_select_related = ("flag",)
    readonly_fields = (
        "flag",
        "status",
        "plan_text",
        "stage_now",
        "guards",
        *GUARD_FIELDS,
        "started_by",
        "finished_at",
        "reason",
        "incident",
    )

    @admin.display(description=_("stage"))
    def stage_now(self, rollout: Rollout) -> str:
        if rollout.status != Rollout.Status.RUNNING:
            return gettext("ended at stage %(stage)d of %(stages)d") % {
                "stage": rollout.stage + 1,
                "stages": len(rollout.stages),
            }
        return stage_text(rollout)

    @admin.display(description=_("plan"))
    def plan_text(self, rollout: Rollout) -> str:
        return rollout.plan_text

    @admin.display(description=_("guards"))
    def guards(self, rollout: Rollout) -> str:
        return guards_table(rollout) if rollout.status == Rollout.Status.RUNNING else "—"

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_fields(self, request, obj=None):
        if obj is None:
            return RolloutStartForm._meta.fields
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            kwargs["form"] = admin.ModelAdmin.form
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            started = services.rollout_start(
                flag=data["flag"],
                stages=data["plan"],
                actor=request.user,
                **{name: data[name] for name in GUARD_FIELDS},
            )
        except ValidationError as error:
            report_errors(request, error)
        else:
            obj.pk, obj.flag = started.pk, started.flag

    def response_add(self, request, obj, post_url_continue=None):
        if obj.pk is None:
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    def get_urls(self):
        return [
            path(
                "<int:pk>/roll-back/",
                self.admin_site.admin_view(require_http_methods(["GET", "POST"])(self.roll_back)),
                name="rollouts_rollout_roll_back",
            ),
            *super().get_urls(),
        ]

    def roll_back(self, request, pk: int):
        if not self.has_change_permission(request):
            raise PermissionDenied
        rollout = get_object_or_404(Rollout.objects.select_related("flag"), pk=pk)
        form = RollBackForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            incident = services.flag_roll_back(
                flag=rollout.flag, reason=form.cleaned_data["reason"], actor=request.user
            )
            if incident is None:
                messages.warning(
                    request, gettext("%(flag)s was already off.") % {"flag": rollout.flag.name}
                )
            else:
                messages.success(
                    request,
                    gettext("%(flag)s rolled back; incident %(incident)s.")
                    % {"flag": rollout.flag.name, "incident": incident.reference},
                )
            return HttpResponseRedirect(reverse("admin:rollouts_rollout_change", args=[pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Roll %(flag)s back") % {"flag": rollout.flag.name},
            "form": form,
            "flags_on": [rollout.flag],
            "running": [rollout],
        }
        return TemplateResponse(request, "admin/rollouts/flag/roll_back_all.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "roll_back_url": reverse("admin:rollouts_rollout_roll_back", args=[object_id])
            if self.has_change_permission(request)
            else "",
            "show_save": False,
            "show_save_and_continue": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)
