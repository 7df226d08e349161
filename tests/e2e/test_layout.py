"""Every page of the demo fits a 390 px phone and a 1280 px screen, with no console errors."""
import pytest
from django.core.management import call_command

from labeling.models import Trace, User
from tests.e2e.lead_fixtures import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LEAD = "/projects/demo/lead/"
LEAD_PAGES = ["/", LEAD, f"{LEAD}taxonomy/", f"{LEAD}members/", f"{LEAD}dashboard/",
              f"{LEAD}adjudication/", "/projects/demo/exports/"]
RESEARCHER_PAGES = ["/", f"{LEAD}dashboard/", "/projects/demo/exports/"]


def _watch(page) -> list[str]:
    """Collect console errors, script errors and failed or refused requests of the page."""
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"script: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    return problems


def _overflow(page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("width", [390, 1280])
def test_lead_and_researcher_pages_fit_the_screen(page_as, live_server, width):
    call_command("demo", verbosity=0)
    adjudicate = f"{LEAD}adjudication/{Trace.objects.get(external_id='demo-0').pk}/"
    for username, paths in [("lead", [*LEAD_PAGES, adjudicate]), ("rita", RESEARCHER_PAGES)]:
        user = User.objects.get(username=username)
        page = page_as(user, width=width, height=844 if width == 390 else 800)
        problems = _watch(page)
        for path in paths:
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            extra = _overflow(page)
            assert extra <= 0, f"{username} {path} is {extra} px too wide at {width} px"
            assert not problems, f"{username} {path}: {problems}"
        screenshot(page, f"layout-{username}-exports-{width}")


def test_export_page_carries_the_project_tabs(page_as, live_server):
    call_command("demo", verbosity=0)
    page = page_as(User.objects.get(username="rita"))
    page.goto(f"{live_server.url}/projects/demo/exports/")
    tabs = page.get_by_test_id("lead-tabs")
    assert tabs.get_by_test_id("tab-exports").get_attribute("aria-current") == "page"
    assert tabs.locator("a").all_inner_texts() == ["Dashboard", "Exports"]
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.get_by_test_id("export-submit").is_visible()


def test_home_page_is_one_card_per_project_on_a_phone(page_as, live_server):
    call_command("demo", verbosity=0)
    page = page_as(User.objects.get(username="alice"), width=390, height=844)
    page.goto(f"{live_server.url}/")
    assert _overflow(page) <= 0
    start = page.get_by_test_id("start-labeling")
    box = start.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    label = "el => getComputedStyle(el, '::before').content"
    assert page.get_by_test_id("available-count").evaluate(label) == '"Available"'
    screenshot(page, "layout-home-390")


def test_export_history_empty_state_fits_a_phone(page_as, live_server, project, researcher):
    """With no exports yet, the whole message shows on a 390 px phone, wrapped, not cut off."""
    page = page_as(researcher, width=390, height=844)
    page.goto(f"{live_server.url}/projects/{project.slug}/exports/")
    empty = page.get_by_test_id("export-jobs-empty")
    assert empty.inner_text() == "No exports yet: choose the options above and press Start export."
    box = empty.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    # Nothing of it is hidden in a scroll box or clipped.
    assert empty.evaluate("el => el.scrollWidth <= el.clientWidth")
    assert page.evaluate("""() => [...document.querySelectorAll('.table-scroll')]
        .every(box => box.offsetParent === null || box.scrollWidth <= box.clientWidth)""")
    screenshot(page, "exports-empty-390")
    # The first export replaces the message with the table.
    page.get_by_test_id("export-submit").click()
    page.get_by_test_id("export-job").first.wait_for()
    assert empty.is_hidden() and page.get_by_test_id("export-jobs").is_visible()
