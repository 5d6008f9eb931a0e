"""Debian's chromium through Playwright for every browser test (never `playwright install`).

Loaded for the whole suite from ``tests/conftest.py``. Three fixtures share one
launch:

- ``screen(language="en", size=DESK)`` opens a new browser window with its own
  cookies (a separate person or device) and returns its page;
- ``phone(language="sv")`` does the same on a 360×740 touch screen;
- ``page`` is one English desk window, for tests that need only one.

When a test fails, every window it opened is saved under
``var/screenshots/failures/`` and the paths are printed. Pictures a test keeps
on purpose go to ``SCREENSHOTS``.
"""

import re
import shutil
import sys

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = settings.VAR_DIR / "screenshots"
FAILURES = SCREENSHOTS / "failures"
DESK = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
LOCALES = {"sv": "sv-SE", "en": "en-GB"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _keep_failure_screenshots(request, pages) -> None:
    from playwright.sync_api import Error as PlaywrightError

    failed = getattr(request.node, "report_call", None)
    if failed is None or not failed.failed:
        return
    FAILURES.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
    for number, page in enumerate(pages, start=1):
        path = FAILURES / f"{name}-{number}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
        except PlaywrightError as error:  # a crashed page still lets the others be kept
            sys.stderr.write(f"no screenshot of window {number}: {error}\n")
        else:
            sys.stderr.write(f"screenshot of the failure: {path}\n")


@pytest.fixture
def screen(request, monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # test makes between steps are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    pages = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])

        def open_window(language: str = "en", size: dict = DESK, **options):
            context = browser.new_context(viewport=size, locale=LOCALES[language], **options)
            page = context.new_page()
            page.set_default_timeout(15_000)
            pages.append(page)
            return page

        yield open_window
        _keep_failure_screenshots(request, pages)
        browser.close()


@pytest.fixture
def phone(screen):
    def open_phone(language: str = "sv"):
        return screen(language, PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)

    return open_phone


@pytest.fixture
def page(screen):
    return screen()


def logged_in(page, live_server, user) -> None:
    """Sign ``user`` in to the window of ``page`` (a session made directly, no login form)."""
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    page.context.add_cookies(
        [{"name": "sessionid", "value": session.session_key, "url": live_server.url}]
    )


def kept_screenshot(page, name: str, **options) -> None:
    """A picture of the page kept on purpose, for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), **options)
