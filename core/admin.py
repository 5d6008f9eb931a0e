from django.contrib import admin

from core.models import Heartbeat


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
