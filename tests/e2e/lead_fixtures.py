"""Browser fixtures of the lead-tools journeys: a Chromium page logged in as a given user, on the
session's browser (the `browser` fixture of tests/e2e/conftest.py, which skips or fails without one).

Registered by tests/e2e/conftest.py, which belongs to another suite; test_lead_*.py import `screenshot`.
"""
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.test import Client

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def page_as(browser, live_server) -> Iterator[Callable[[object], object]]:
    """Return a function opening a page (1280x800 and the machine's time zone unless told) with
    the given user logged in."""
    from django.core.cache import cache

    cache.clear()  # the adjudication ranking is cached by ids, which repeat across tests
    contexts = []

    def open_as(user, width: int = 1280, height: int = 800, timezone_id: str | None = None):
        client = Client()
        client.force_login(user)
        context = browser.new_context(
            viewport={"width": width, "height": height}, timezone_id=timezone_id,
        )
        context.add_cookies([{
            "name": "sessionid", "value": client.cookies["sessionid"].value,
            "url": live_server.url,
        }])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_as
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> Path:
    """Save a screenshot of the page under test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
