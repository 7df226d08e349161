"""A lead uploads a file: a progress bar while it imports, the errors with lines when it fails."""
from pathlib import Path

import pytest

from labeling.models import Trace
from tests.e2e.lead_fixtures import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lead"


def _upload(page, live_server, project, name: str):
    """On the lead page, import fixtures/lead/<name> in the native format."""
    page.goto(f"{live_server.url}/projects/{project.slug}/lead/")
    page.get_by_test_id("import-file").set_input_files(str(FIXTURES / name))
    page.get_by_test_id("import-format").select_option("native")
    page.get_by_test_id("import-submit").click()
    return page


def test_lead_imports_a_file_and_sees_the_result(page_as, live_server, project, lead):
    page = _upload(page_as(lead), live_server, project, "traces_ok.jsonl")
    page.get_by_test_id("import-result").wait_for(timeout=30_000)
    # The recent imports list it without a reload.
    history = page.get_by_test_id("import-history").locator("li")
    history.filter(has_text="traces_ok.jsonl").filter(has_text="+2 traces").wait_for()
    assert history.count() == 1 and history.first.inner_text().startswith("succeeded")
    screenshot(page, "lead-import-succeeded")
    assert Trace.objects.filter(project=project).count() == 2


def test_a_bad_file_shows_its_errors_with_line_numbers(page_as, live_server, project, lead):
    page = _upload(page_as(lead), live_server, project, "traces_bad.jsonl")
    rows = page.get_by_test_id("import-error-row")
    rows.first.wait_for(timeout=30_000)
    history = page.get_by_test_id("import-history").locator("li")
    history.filter(has_text="traces_bad.jsonl").wait_for()
    assert history.first.inner_text().startswith("failed")
    screenshot(page, "lead-import-failed")
    assert rows.first.locator("td").first.inner_text() == "2"
    assert not Trace.objects.filter(project=project).exists()


def test_upload_without_a_file_says_so_beside_the_drop_zone(page_as, live_server, project, lead):
    page = page_as(lead)
    page.goto(f"{live_server.url}/projects/{project.slug}/lead/")
    page.get_by_test_id("import-submit").click()
    assert page.get_by_test_id("import-error").inner_text() == "Choose a file to import first."
    assert page.get_by_test_id("import-file").evaluate("el => el === document.activeElement")
    page.get_by_test_id("import-file").set_input_files(str(FIXTURES / "traces_ok.jsonl"))
    assert page.get_by_test_id("import-error").inner_text() == ""
