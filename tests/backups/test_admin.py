"""Backups in the admin: readable by staff groups, downloadable by superusers only."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from backups.models import Backup
from tests.backups.factories import backup_recorded

pytestmark = pytest.mark.django_db


@pytest.fixture
def backup():
    return backup_recorded(
        timezone.now() - timedelta(hours=3),
        file=True,
        verification=Backup.Verification.PASSED,
        verified_at=timezone.now(),
        restore_seconds=75.0,
    )


def test_backups_list_shows_time_size_age_verification_and_restore_time(viewer_client, backup):
    response = viewer_client.get(reverse("admin:backups_backup_changelist"))

    assert response.status_code == 200
    page = response.content.decode()
    assert backup.name in page
    assert "2.4 MB" in page
    assert "3.0 h" in page  # its age
    assert "Passed" in page
    assert "75.0 s" in page
    assert "Download" not in page
    assert "Add backup" not in page


def test_only_superusers_download_a_backup(viewer_client, manager_client, admin_client, backup):
    url = reverse("admin:backups_backup_download", args=[backup.pk])

    assert viewer_client.get(url).status_code == 403
    assert manager_client.get(url).status_code == 403
    response = admin_client.get(url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"SQLite format 3\x00 dump"
    assert f'filename="{backup.file_name}"' in response["Content-Disposition"]
    assert (
        "Download" in admin_client.get(reverse("admin:backups_backup_changelist")).content.decode()
    )


def test_download_of_a_deleted_or_unknown_backup_is_a_404(admin_client, backup):
    Backup.objects.filter(pk=backup.pk).update(deleted_at=timezone.now())

    assert (
        admin_client.get(reverse("admin:backups_backup_download", args=[backup.pk])).status_code
        == 404
    )
    assert admin_client.get("/admin/backups/backup/999999/download/").status_code == 404


def test_nobody_changes_or_deletes_a_backup_record(admin_client, backup):
    response = admin_client.post(
        reverse("admin:backups_backup_change", args=[backup.pk]), {"name": "renamed"}
    )

    assert response.status_code == 403
    assert Backup.objects.get(pk=backup.pk).name == backup.name
    delete = admin_client.post(
        reverse("admin:backups_backup_delete", args=[backup.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403


def test_a_backup_taken_out_is_a_security_event_the_weekly_review_counts(
    viewer_client, admin_client, backup
):
    from core.models import SecurityEvent
    from core.security import security_summary

    url = reverse("admin:backups_backup_download", args=[backup.pk])
    viewer_client.get(url)  # refused: nothing was taken out
    admin_client.get(url)

    (event,) = SecurityEvent.objects.filter(kind=SecurityEvent.Kind.BACKUP_DOWNLOADED)
    assert event.detail == backup.name
    assert event.user.is_superuser
    now = timezone.now()
    summary = security_summary(start=now - timedelta(days=7), end=now + timedelta(seconds=1))
    assert summary.backup_downloads == 1
    assert summary.anything
