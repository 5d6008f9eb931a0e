"""The backups page as an operator sees it, in Debian's chromium (Playwright)."""

import pytest

from backups.archive import sha256_of
from backups.services import backup_create, backup_verify
from tests.browsers import kept_screenshot, logged_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_operator_reads_the_backups_and_downloads_one(
    page,
    live_server,
    django_user_model,
    open_code,
):
    operator = django_user_model.objects.create_superuser("operator", "", "not-used-in-tests")
    backup = backup_create()
    backup_verify()
    logged_in(page, live_server, operator)

    page.goto(f"{live_server.url}/admin/backups/backup/")
    kept_screenshot(page, "backups", full_page=True)

    row = page.locator("#result_list tr", has_text=backup.name)
    assert "Passed" in row.inner_text()
    assert "restore time (rto)" in page.locator("#result_list thead").inner_text().lower()
    with page.expect_download() as download_info:
        row.get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == backup.file_name
    assert sha256_of(download.path()) == backup.sha256
