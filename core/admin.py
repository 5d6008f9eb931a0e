from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from core.models import Event, Heartbeat


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    """Read-only: heartbeats are written by the beat task, never by hand."""

    list_display = ("source", "last_seen_at", "beats")
    readonly_fields = ("source", "last_seen_at", "beats")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


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
