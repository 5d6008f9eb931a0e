import re
from collections.abc import Callable

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import ReadOnlyPasswordHashWidget, UserChangeForm
from django.contrib.auth.models import Group
from django.contrib.contenttypes.admin import GenericTabularInline
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core import outbox
from core.csv_export import csv_response
from core.models import (
    DeadLetter,
    Event,
    Heartbeat,
    MaintenanceRun,
    MaintenanceStep,
    Message,
    SecurityEvent,
    WorkerHeartbeat,
)
from core.privacy import mask_recipient, may_see_contact_data, path_touches_contact_data
from core.search import SQLITE_SEARCH_ROWS, search_query, search_vector
from core.security import security_event_record
from core.services import dead_letter_discard, dead_letter_requeue


class ServiceWrittenAdmin(admin.ModelAdmin):
    """Rows only services write: viewable, never added, edited or deleted by hand.

    Admin actions (which call services) still need the change permission, so
    it is granted for the list and refused for every object form.
    """

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request)


class SuperuserDeletesMixin:
    """Rows with a history (tickets, incidents): everyone else closes or cancels them.

    Deleting takes the timeline with it, so only superusers may, whatever
    their groups' permissions say.
    """

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        # What services wrote about the row (its escalations and their pages)
        # is part of its history: it goes with the row, though nobody may
        # delete it on its own.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        service_written = {
            str(model._meta.verbose_name)
            for model, model_admin in self.admin_site._registry.items()
            if isinstance(model_admin, ServiceWrittenAdmin)
        }
        return deleted, counts, perms_needed - service_written, protected


class ReadOnlyAdmin(ServiceWrittenAdmin):
    """Rows nobody changes from the admin, not even through actions."""

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    """Heartbeats are written by the beat task."""

    list_display = ("source", "last_seen_at", "beats")
    readonly_fields = ("source", "last_seen_at", "beats")


@admin.register(MaintenanceRun)
class MaintenanceRunAdmin(ReadOnlyAdmin):
    """What each periodic job did, and when; written by the jobs only."""

    list_display = ("job", "run_key", "started_at", "finished_at", "outcome", "summary")
    list_filter = ("outcome", "job")
    search_fields = ("job", "run_key")
    readonly_fields = (
        "job",
        "run_key",
        "started_at",
        "finished_at",
        "outcome",
        "summary",
        "counts",
        "error",
        "lease",
        "requested_by",
    )
    show_full_result_count = False


@admin.register(MaintenanceStep)
class MaintenanceStepAdmin(ReadOnlyAdmin):
    """What periodic work did once for good (a report sent for its period), and which run did it."""

    list_display = ("key", "done_at", "run")
    search_fields = ("key",)
    readonly_fields = ("key", "done_at", "run")
    list_select_related = ("run",)
    show_full_result_count = False


# The details the security code writes, put in words of the reader's language when read.
SECURITY_DETAILS = {
    "superuser granted": _("superuser granted"),
    "superuser taken away": _("superuser taken away"),
    "refused while locked out": _("refused while locked out"),
    "wrong second-factor code": _("wrong second-factor code"),
}
_FAILURES = re.compile(r"^after (\d+) failure\(s\)$")
_CHANGES = re.compile(r"^(?:added: (?P<added>.*?))?(?:; )?(?:removed: (?P<removed>.*))?$")


def security_detail_text(detail: str) -> str:
    """A security event's detail in the reader's language; names (groups, permissions) as held."""
    if detail in SECURITY_DETAILS:
        return str(SECURITY_DETAILS[detail])
    if match := _FAILURES.match(detail):
        count = int(match.group(1))
        return ngettext("after %(count)d failure", "after %(count)d failures", count) % {
            "count": count
        }
    match = _CHANGES.match(detail)
    if detail and match and (match.group("added") or match.group("removed")):
        parts = []
        if match.group("added"):
            parts.append(gettext("added: %(names)s") % {"names": match.group("added")})
        if match.group("removed"):
            parts.append(gettext("removed: %(names)s") % {"names": match.group("removed")})
        return "; ".join(parts)
    return detail


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    """The security page: sign-in failures, lockouts, second factors, staff and permission changes.

    For operators only (superusers), whatever a group's permissions say.
    """

    list_display = ("created_at", "kind", "username", "user", "actor", "detail_text")
    list_filter = ("kind", "created_at")
    list_select_related = ("user", "actor")
    search_fields = ("username",)
    fields = ("created_at", "kind", "username", "user", "actor", "client_hash", "detail_text")
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description=_("detail"))
    def detail_text(self, event: SecurityEvent) -> str:
        return security_detail_text(event.detail)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)


def _names(related) -> set[str]:
    return {str(item) for item in related.all()}


def _change_detail(before: set[str], after: set[str]) -> str:
    added, removed = sorted(after - before), sorted(before - after)
    return "; ".join(
        part
        for part in (
            "added: " + ", ".join(added) if added else "",
            "removed: " + ", ".join(removed) if removed else "",
        )
        if part
    )


class PasswordSummaryWidget(ReadOnlyPasswordHashWidget):
    """A password's algorithm and work factor, without pieces of its salt and hash."""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        hidden = {gettext("salt"), gettext("hash")}
        context["summary"] = [
            entry for entry in context["summary"] if str(entry["label"]) not in hidden
        ]
        return context


class StaffUserChangeForm(UserChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "password" in self.fields:
            self.fields["password"].widget = PasswordSummaryWidget()


class StaffUserAdmin(UserAdmin):
    """Django's user admin; every new staff account and change of rights is a security event."""

    form = StaffUserChangeForm

    def save_model(self, request, obj, form, change):
        before = (
            type(obj).objects.filter(pk=obj.pk).values("is_staff", "is_superuser").first()
            if change
            else None
        ) or {"is_staff": False, "is_superuser": False}
        super().save_model(request, obj, form, change)
        if obj.is_staff and not before["is_staff"]:
            security_event_record(
                kind=SecurityEvent.Kind.STAFF_ADDED, user=obj, actor=request.user, request=request
            )
        if obj.is_superuser != before["is_superuser"]:
            security_event_record(
                kind=SecurityEvent.Kind.PERMISSIONS_CHANGED,
                user=obj,
                actor=request.user,
                request=request,
                detail="superuser " + ("granted" if obj.is_superuser else "taken away"),
            )

    def save_related(self, request, form, formsets, change):
        user = form.instance
        groups, permissions = _names(user.groups), _names(user.user_permissions)
        super().save_related(request, form, formsets, change)
        for kind, before, after in (
            (SecurityEvent.Kind.GROUPS_CHANGED, groups, _names(user.groups)),
            (SecurityEvent.Kind.PERMISSIONS_CHANGED, permissions, _names(user.user_permissions)),
        ):
            if before != after:
                security_event_record(
                    kind=kind,
                    user=user,
                    actor=request.user,
                    request=request,
                    detail=_change_detail(before, after),
                )


class StaffGroupAdmin(GroupAdmin):
    """Django's group admin; a change of a group's permissions is a security event."""

    def save_related(self, request, form, formsets, change):
        group = form.instance
        before = _names(group.permissions) if change else set()
        super().save_related(request, form, formsets, change)
        after = _names(group.permissions)
        if before != after:
            security_event_record(
                kind=SecurityEvent.Kind.PERMISSIONS_CHANGED,
                actor=request.user,
                request=request,
                username=f"group {group.name}",
                detail=_change_detail(before, after),
            )


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), StaffUserAdmin)
admin.site.unregister(Group)
admin.site.register(Group, StaffGroupAdmin)


class LockoutAdmin(AccessAttemptAdmin):
    """django-axes' failed attempts; deleting one unlocks that account for that address.

    Superusers only (no group holds these permissions); each unlock is a security event.
    """

    def delete_model(self, request, obj):
        self._unlocked(request, [obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        self._unlocked(request, list(queryset))
        super().delete_queryset(request, queryset)

    def _unlocked(self, request, attempts) -> None:
        for attempt in attempts:
            security_event_record(
                kind=SecurityEvent.Kind.UNLOCKED,
                username=attempt.username or "",
                actor=request.user,
                request=request,
                detail=f"after {attempt.failures_since_start} failure(s)",
            )


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, LockoutAdmin)


class ReadOnlyInlineMixin:
    """An inline that lists related rows and never adds or changes them."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class EventInline(ReadOnlyInlineMixin, GenericTabularInline):
    """An object's history events, newest first, read-only."""

    model = Event
    ct_field = "subject_type"
    ct_fk_field = "subject_id"
    fields = ("created_at", "action", "message", "actor")
    readonly_fields = fields
    verbose_name = _("history event")
    verbose_name_plural = _("history")
    classes = ("collapse",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class PageRelatedMixin:
    """A big table's changelist reads the rows it shows, then their related rows by id.

    Joining the related tables into the page's query lets SQLite's planner walk
    a small joined table first and sort the whole big one; reading the page in
    the list's index order and fetching ``page_related`` afterwards (one query
    each) keeps the page's cost the same at a thousand rows and at a million.
    """

    page_related: tuple[str, ...] = ()
    list_select_related = ()  # an empty tuple: no select_related() at all

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(*self.page_related)


class CappedCountPaginator(Paginator):
    """Counts at most CAP rows, so a changelist never runs COUNT(*) over a whole big table.

    Past the cap the list pages through the newest CAP rows; filters narrow it.
    """

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.CAP].count()


def report_errors(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def run_for_each(
    request: HttpRequest,
    queryset: QuerySet,
    service: Callable,
    *,
    keyword: str,
    done: str | Callable[[int], str],
) -> None:
    """Call ``service(<keyword>=row)`` for every selected row.

    One message sums up the successes; each failure gets its own readable one.
    ``done`` is either the words after the count, or a function that writes the
    whole message for a count (to translate it with ``ngettext``).
    """
    succeeded = 0
    for obj in queryset:
        try:
            service(**{keyword: obj}, actor=request.user)
        except ValidationError as error:
            report_errors(request, error)
        else:
            succeeded += 1
    if succeeded:
        messages.success(request, done(succeeded) if callable(done) else f"{succeeded} {done}.")


class SingletonAdmin(admin.ModelAdmin):
    """A model with exactly one row (``SINGLETON_ID``): the list opens that row."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        row, _ = self.model.objects.get_or_create(pk=self.model.SINGLETON_ID)
        opts = self.model._meta
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
        )


class ContactDataAdminMixin:
    """Contact fields stay private for everyone without the *view contact data* permission.

    The one place that decides it for every admin that shows contact data
    (the model's ``CONTACT_FIELDS``, its own or through relations): such a
    user cannot filter, search, sort or export by them, and the change page
    leaves them out (admins show masked values instead).
    """

    def _private(self, request, path) -> bool:
        return (
            isinstance(path, str)
            and path_touches_contact_data(self.model, path)
            and not may_see_contact_data(request.user)
        )

    def lookup_allowed(self, lookup, value, request) -> bool:
        if self._private(request, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_fields(self, request):
        fields = super().get_search_fields(request)
        return tuple(field for field in fields if not self._private(request, field))

    def get_list_filter(self, request):
        return tuple(
            entry
            for entry in super().get_list_filter(request)
            if not self._private(request, entry[0] if isinstance(entry, tuple) else entry)
        )

    def get_sortable_by(self, request):
        return tuple(
            name
            for name in super().get_sortable_by(request)
            if not self._private(
                request, getattr(getattr(self, name, None), "admin_order_field", name)
            )
        )

    def get_ordering(self, request):
        return tuple(
            entry
            for entry in super().get_ordering(request) or ()
            if not self._private(request, entry)
        )

    def get_csv_columns(self, request):
        return tuple(
            (lookup, title)
            for lookup, title in super().get_csv_columns(request)
            if not self._private(request, lookup)
        )

    def get_fields(self, request, obj=None):
        return self._without_private(request, super().get_fields(request, obj), obj)

    def get_fieldsets(self, request, obj=None):
        return [
            (name, {**options, "fields": self._without_private(request, options["fields"], obj)})
            for name, options in super().get_fieldsets(request, obj)
        ]

    def _without_private(self, request, fields, obj):
        if obj is None:  # an add form takes contact data in, it shows none
            return fields
        return [field for field in fields if not self._private(request, field)]


class CsvExportMixin:
    """An ``export.csv`` view: the changelist's current filters and search, streamed.

    Set ``csv_columns`` to (lookup, title) pairs; values are read with
    ``values_list(...).iterator()``, so a million rows never sit in memory.
    A field with choices is written by its label; ``csv_formats`` maps a
    lookup to a function for the rest (money in kronor, say). The cells are
    written for a Swedish Excel by ``core.csv_export``.
    """

    csv_columns: tuple[tuple[str, str], ...] = ()
    csv_formats: dict = {}

    def get_csv_columns(self, request) -> tuple[tuple[str, str], ...]:
        return self.csv_columns

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "export.csv",
                self.admin_site.admin_view(self.export_view),
                name=f"{opts.app_label}_{opts.model_name}_export",
            ),
            *super().get_urls(),
        ]

    def _csv_format(self, lookup: str):
        if lookup in self.csv_formats:
            return self.csv_formats[lookup]
        try:
            field = self.model._meta.get_field(lookup)
        except FieldDoesNotExist:
            return None
        if not field.choices:
            return None
        labels = {value: str(label) for value, label in field.flatchoices}
        return lambda value: labels.get(value, value)

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        columns = self.get_csv_columns(request)
        formats = [self._csv_format(lookup) for lookup, _ in columns]
        rows = (
            self.get_changelist_instance(request)
            .get_queryset(request)
            .values_list(*(lookup for lookup, _ in columns))
            .iterator(chunk_size=2000)
        )
        return csv_response(
            header=[title for _, title in columns],
            rows=(
                [
                    value if shown is None or value is None else shown(value)
                    for shown, value in zip(formats, row, strict=True)
                ]
                for row in rows
            ),
            filename=f"{self.model._meta.verbose_name_plural}-{timezone.localdate():%Y-%m-%d}.csv",
        )


@admin.register(Message)
class MessageAdmin(ContactDataAdminMixin, ServiceWrittenAdmin):
    """The outbox: every e-mail and SMS, its delivery state, recipients masked.

    The text itself can carry a claim link (a way to someone's rewards), so it
    is shown only in the embedded mode, to superusers, where a developer reads
    the messages the console leaves out.
    """

    list_display = (
        "id",
        "created_at",
        "channel",
        "purpose",
        "masked_recipient",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
    )
    list_filter = ("status", "channel", "purpose")
    search_fields = ("=id",)
    show_full_result_count = False
    paginator = CappedCountPaginator
    actions = ("resend",)

    @admin.display(description=_("recipient"))
    def masked_recipient(self, message: Message) -> str:
        return mask_recipient(message.recipient) if message.recipient else gettext("— (purged)")

    @admin.display(description=_("text"))
    def text(self, message: Message) -> str:
        return message.body

    def get_fields(self, request, obj=None):
        fields = [
            "channel",
            "purpose",
            "masked_recipient",
            "subject",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "sent_at",
            "last_error",
            "reference",
            "created_at",
            "anonymised_at",
        ]
        if request.user.is_superuser and not settings.IS_PRODUCTION:
            fields.insert(4, "text")
        return fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and request.user.is_superuser

    @admin.action(description=_("Send selected messages again"), permissions=["change"])
    def resend(self, request, queryset):
        done = 0
        for message in queryset:
            try:
                outbox.message_resend(message=message)
            except ValueError as error:
                messages.error(request, str(error))
            else:
                done += 1
        if done:
            messages.success(
                request,
                ngettext(
                    "%(count)d message queued to be sent again.",
                    "%(count)d messages queued to be sent again.",
                    done,
                )
                % {"count": done},
            )


# ------------------------------------------------------------------------------
# Search that scales
# ------------------------------------------------------------------------------
class FullTextSearchMixin:
    """Changelist search that stays fast at millions of rows.

    On PostgreSQL, ``full_text_fields`` are searched with full-text search
    (Swedish and English stemming, word beginnings) through a GIN index.
    SQLite has no such index: there the ordinary ``search_fields`` search
    covers the newest SQLITE_SEARCH_ROWS rows, and the search box says so.
    ``exact_search_fields`` (e.g. a reference) match whole values on both.
    """

    full_text_fields: tuple[str, ...] = ()
    exact_search_fields: tuple[str, ...] = ()

    @property
    def search_help_text(self) -> str:
        if connection.vendor == "postgresql":
            return gettext("Finds every word, or the start of it, in Swedish or English.")
        return gettext("Searches the newest %(count)s rows.") % {"count": f"{SQLITE_SEARCH_ROWS:,}"}

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        exact = Q(pk__in=[])
        for field in self.exact_search_fields:
            exact |= Q(**{field: term})
        if connection.vendor != "postgresql":
            newest = self.model._default_manager.order_by("-pk").values_list("pk", flat=True)
            top = newest.first() or 0
            recent = queryset.filter(pk__gt=top - SQLITE_SEARCH_ROWS)
            found, duplicates = super().get_search_results(request, recent, term)
            if self.exact_search_fields:
                # By id: an OR with the exact fields themselves would make SQLite
                # read every row instead of the newest range.
                exact_ids = list(queryset.filter(exact).values_list("pk", flat=True)[:100])
                found = found | queryset.filter(pk__in=exact_ids)
            return found, duplicates
        query = search_query(term)
        matches = exact
        if query is not None:
            queryset = queryset.alias(document=search_vector(*self.full_text_fields))
            matches |= Q(document=query)
        return queryset.filter(matches), False


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    """Celery workers that said they are alive; written by the workers themselves."""

    list_display = ("hostname", "started_at", "last_seen_at")
    readonly_fields = list_display


@admin.register(DeadLetter)
class DeadLetterAdmin(ServiceWrittenAdmin):
    """Tasks that failed for good: requeue them once the cause is fixed, or discard them."""

    list_display = ("task_name", "failed_at", "retries", "status", "short_error")
    list_filter = ("status", "task_name")
    search_fields = ("task_name", "task_id")
    readonly_fields = (
        "task_name",
        "task_id",
        "arguments",
        "arguments_masked",
        "retries",
        "failed_at",
        "error",
        "status",
        "handled_at",
        "handled_by",
    )
    actions = ("requeue", "discard")
    show_full_result_count = False
    inlines = (EventInline,)

    @admin.display(description=_("error"))
    def short_error(self, obj: DeadLetter) -> str:
        return obj.error.splitlines()[0][:120] if obj.error else ""

    @admin.action(description=_("Requeue: run the task again"), permissions=["change"])
    def requeue(self, request, queryset):
        run_for_each(
            request,
            queryset,
            dead_letter_requeue,
            keyword="dead_letter",
            done=lambda count: (
                ngettext("%(count)d requeued.", "%(count)d requeued.", count) % {"count": count}
            ),
        )

    @admin.action(description=_("Discard: do not run the task again"), permissions=["change"])
    def discard(self, request, queryset):
        run_for_each(
            request,
            queryset,
            dead_letter_discard,
            keyword="dead_letter",
            done=lambda count: (
                ngettext("%(count)d discarded.", "%(count)d discarded.", count) % {"count": count}
            ),
        )
