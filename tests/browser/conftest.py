"""Phones in Debian's chromium (never `playwright install`), with screenshots of failures kept.

``phone(language)`` opens a new 360×740 touch screen with its own cookies: a
separate device, as a second customer at the same table would be. When a test
fails, every screen it opened is saved under ``var/screenshots/failures/`` and
the paths are printed.
"""

import re
import shutil
import sys

import pytest
from django.conf import settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 360, "height": 740}
LOCALES = {"sv": "sv-SE", "en": "en-GB"}
FAILURES = settings.VAR_DIR / "screenshots" / "failures"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def phone(request, monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # test makes between steps are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    screens = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])

        def open_phone(language: str = "sv"):
            context = browser.new_context(
                viewport=PHONE,
                locale=LOCALES[language],
                is_mobile=True,
                has_touch=True,
                device_scale_factor=2,
            )
            screen = context.new_page()
            screen.set_default_timeout(15_000)
            screens.append(screen)
            return screen

        yield open_phone
        failed = getattr(request.node, "report_call", None)
        if failed is not None and failed.failed:
            FAILURES.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
            for number, screen in enumerate(screens, start=1):
                path = FAILURES / f"{name}-{number}.png"
                try:
                    screen.screenshot(path=str(path), full_page=True)
                except PlaywrightError as error:  # a crashed page still lets the others be kept
                    sys.stderr.write(f"no screenshot of screen {number}: {error}\n")
                else:
                    sys.stderr.write(f"screenshot of the failure: {path}\n")
        browser.close()
