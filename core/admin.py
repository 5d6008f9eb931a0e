from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.contenttypes.admin import GenericTabularInline
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property

from core import outbox
from core.csv_export import csv_response
from core.models import (
    DeadLetter,
    Event,
    Heartbeat,
    MaintenanceRun,
    MaintenanceStep,
    Message,
    WorkerHeartbeat,
)
from core.privacy import mask_recipient
from core.search import SQLITE_SEARCH_ROWS, search_query, search_vector
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
    verbose_name = "history event"
    verbose_name_plural = "history"
    classes = ("collapse",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


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
    request: HttpRequest, queryset: QuerySet, service: Callable, *, keyword: str, done: str
) -> None:
    """Call ``service(<keyword>=row)`` for every selected row.

    One message sums up the successes; each failure gets its own readable one.
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
        messages.success(request, f"{succeeded} {done}.")


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


class CsvExportMixin:
    """An ``export.csv`` view: the changelist's current filters and search, streamed.

    Set ``csv_columns`` to (lookup, title) pairs; values are read with
    ``values_list(...).iterator()``, so a million rows never sit in memory.
    """

    csv_columns: tuple[tuple[str, str], ...] = ()

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

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = (
            self.get_changelist_instance(request)
            .get_queryset(request)
            .values_list(*(lookup for lookup, _ in self.csv_columns))
            .iterator(chunk_size=2000)
        )
        return csv_response(
            header=[title for _, title in self.csv_columns],
            rows=([csv_cell(value) for value in row] for row in rows),
            filename=f"{self.model._meta.verbose_name_plural}-{timezone.localdate():%Y-%m-%d}.csv",
        )


def csv_cell(value):
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return value


@admin.register(Message)
class MessageAdmin(ServiceWrittenAdmin):
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

    @admin.display(description="recipient")
    def masked_recipient(self, message: Message) -> str:
        return mask_recipient(message.recipient) if message.recipient else "— (purged)"

    @admin.display(description="text")
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

    @admin.action(description="Send selected messages again", permissions=["change"])
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
            messages.success(request, f"{done} message(s) queued to be sent again.")


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
            return "Finds every word, or the start of it, in Swedish or English."
        return f"Searches the newest {SQLITE_SEARCH_ROWS:,} rows."

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
                found = found | queryset.filter(exact)
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

    @admin.display(description="error")
    def short_error(self, obj: DeadLetter) -> str:
        return obj.error.splitlines()[0][:120] if obj.error else ""

    @admin.action(description="Requeue: run the task again", permissions=["change"])
    def requeue(self, request, queryset):
        run_for_each(request, queryset, dead_letter_requeue, keyword="dead_letter", done="requeued")

    @admin.action(description="Discard: do not run the task again", permissions=["change"])
    def discard(self, request, queryset):
        run_for_each(
            request, queryset, dead_letter_discard, keyword="dead_letter", done="discarded"
        )
