"""Playwright fixtures: Debian's Chromium by path, one browser per session, pages per test.

Without a browser the e2e tests are skipped, unless REQUIRE_BROWSER=1 (CI), where a missing
browser fails the run instead of passing it silently.
"""
import os
from pathlib import Path

import pytest

# The lead-tools journeys' fixtures, registered here so that test modules need not import them
# (an imported fixture used as a parameter is a redefinition to ruff's F811).
from tests.e2e.lead_fixtures import ARTIFACTS, page_as  # noqa: F401

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls from
# such a thread unless told that this is deliberate (test set-up only, never in production).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser():
    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    required = os.environ.get("REQUIRE_BROWSER") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - depends on the machine
        if required:
            pytest.fail(f"REQUIRE_BROWSER=1 but playwright is not installed: {exc}")
        pytest.skip("playwright is not installed")
    if not Path(executable).exists():
        if required:
            pytest.fail(f"REQUIRE_BROWSER=1 but no Chromium at {executable} (set CHROMIUM_PATH)")
        pytest.skip(f"no Chromium at {executable}; set CHROMIUM_PATH or install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def make_page(browser):
    """Return a function opening a fresh page (own cookies) at a viewport size."""
    contexts = []

    def make(width: int = 1280, height: int = 800):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors
        return page

    yield make
    for context in contexts:
        context.close()


def login(page, live_server, username: str, password: str = "pw-secret-123") -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{live_server.url}/")
