"""Backups in the admin: when, how big, how old, whether a restore proved them; downloads for
superusers only (a dump holds every contact and every secret the database holds)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from backups.archive import backup_dir
from backups.models import Backup
from backups.terminal import size_text
from core.admin import ReadOnlyAdmin
from core.models import SecurityEvent
from core.security import security_event_record


def _duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{number_format(seconds, 2)} s"
    if seconds < 120:
        return f"{number_format(seconds, 1)} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{number_format(seconds / 3600, 1)} h"
    return gettext("%(days)s days") % {"days": number_format(seconds / 86400, 1)}


@admin.register(Backup)
class BackupAdmin(ReadOnlyAdmin):
    """Written by backup_create and the scheduled jobs; read here."""

    list_display = ("taken_at", "name", "kind", "size", "age", "verification", "restore_time")
    list_filter = ("verification", "kind", "engine")
    search_fields = ("name",)
    show_full_result_count = False
    readonly_fields = (
        "name",
        "kind",
        "engine",
        "file_name",
        "taken_at",
        "size",
        "age",
        "sha256",
        "app_version",
        "duration_seconds",
        "verification",
        "verified_at",
        "verify_error",
        "restore_time",
        "data_age",
        "deleted_at",
        "migrations",
        "row_counts",
        "file",
    )
    exclude = ("size_bytes", "restore_seconds", "data_age_seconds")

    @admin.display(description=_("size"), ordering="size_bytes")
    def size(self, backup: Backup) -> str:
        return size_text(backup.size_bytes)

    @admin.display(description=_("age"))
    def age(self, backup: Backup) -> str:
        return _duration_text((timezone.now() - backup.taken_at).total_seconds())

    @admin.display(description=_("restore time (RTO)"), ordering="restore_seconds")
    def restore_time(self, backup: Backup) -> str:
        return _duration_text(backup.restore_seconds)

    @admin.display(description=_("data age when restored (RPO)"))
    def data_age(self, backup: Backup) -> str:
        return _duration_text(backup.data_age_seconds)

    @admin.display(description=_("file"))
    def file(self, backup: Backup) -> str:
        return gettext("deleted by retention") if backup.deleted_at else backup.file_name

    @admin.display(description=_("download"))
    def download(self, backup: Backup) -> str:
        if backup.deleted_at is not None:
            return "—"
        url = reverse("admin:backups_backup_download", args=[backup.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Download"))

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return (*shown, "download") if request.user.is_superuser else shown

    def get_readonly_fields(self, request, obj=None):
        shown = super().get_readonly_fields(request, obj)
        return (*shown, "download") if request.user.is_superuser else shown

    def get_urls(self):
        download = path(
            "<int:backup_id>/download/",
            self.admin_site.admin_view(self.download_view),
            name="backups_backup_download",
        )
        return [download, *super().get_urls()]

    def download_view(self, request, backup_id: int):
        if not (request.user.is_active and request.user.is_superuser):
            raise PermissionDenied(gettext("Only superusers download backups."))
        backup = Backup.objects.filter(pk=backup_id, deleted_at__isnull=True).first()
        if backup is None:
            raise Http404(gettext("No such backup, or retention has deleted it."))
        folder = backup_dir().resolve()
        dump = (folder / backup.file_name).resolve()
        if dump.parent != folder or not dump.is_file():
            raise Http404(gettext("The backup's file is not in BACKUP_DIR."))
        # A backup holds every contact the database holds: who took one out is reviewed weekly.
        security_event_record(
            kind=SecurityEvent.Kind.BACKUP_DOWNLOADED,
            user=request.user,
            actor=request.user,
            request=request,
            detail=backup.name,
        )
        return FileResponse(dump.open("rb"), as_attachment=True, filename=dump.name)
