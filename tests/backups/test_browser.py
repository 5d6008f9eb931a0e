"""The backups page as an operator sees it, in Debian's chromium (Playwright)."""

import pytest

from backups.archive import sha256_of
from backups.services import backup_create, backup_verify
from tests.rollouts.test_browser import SCREENSHOTS, browser_page, logged_in  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_operator_reads_the_backups_and_downloads_one(
    browser_page,  # noqa: F811
    live_server,
    django_user_model,
    open_code,
):
    operator = django_user_model.objects.create_superuser("operator", "", "not-used-in-tests")
    backup = backup_create()
    backup_verify()
    logged_in(browser_page, live_server, operator)
    page = browser_page.new_page()

    page.goto(f"{live_server.url}/admin/backups/backup/")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "backups.png"), full_page=True)

    row = page.locator("#result_list tr", has_text=backup.name)
    assert "Passed" in row.inner_text()
    assert "restore time (rto)" in page.locator("#result_list thead").inner_text().lower()
    with page.expect_download() as download_info:
        row.get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == backup.file_name
    assert sha256_of(download.path()) == backup.sha256
