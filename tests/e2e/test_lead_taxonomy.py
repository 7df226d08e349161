"""A lead publishes a new taxonomy version with a mapping; annotators then get it."""
import pytest
from django.test import Client

from labeling.models import CategoryMapping
from labeling.services.labels import LabelInput, step_labels_set
from tests.e2e.lead_fixtures import screenshot
from tests.labeling.factories import TraceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_lead_publishes_a_new_version_with_a_mapping(page_as, live_server, project, lead, annotator):
    trace = TraceFactory(project=project, steps=2)
    step_labels_set(trace=trace, annotator=annotator,
                    labels=[LabelInput(0, "positive"), LabelInput(1, "negative")])
    page = page_as(lead)
    page.goto(f"{live_server.url}/projects/{project.slug}/lead/taxonomy/")
    rows = page.get_by_test_id("category-row")
    rows.nth(2).wait_for()
    assert rows.count() == 3

    page.get_by_test_id("add-category").click()
    new = rows.nth(3)
    new.get_by_test_id("cat-key").fill("calculation_error")
    new.get_by_test_id("cat-name").fill("Calculation error")
    new.locator("select").nth(1).select_option("negative")
    new.get_by_test_id("cat-hotkey").fill("k")
    assert "reserved" in new.get_by_test_id("field-error").inner_text()
    assert page.get_by_test_id("publish").is_disabled()
    new.get_by_test_id("cat-hotkey").fill("c")
    new.get_by_test_id("cat-rationale").check()
    assert page.get_by_test_id("preview-item").count() == 4
    screenshot(page, "lead-taxonomy")

    page.get_by_test_id("publish").click()
    panel = page.get_by_test_id("mapping-panel")
    panel.wait_for()
    selects = panel.get_by_test_id("mapping-select")
    assert selects.count() == 3
    assert selects.nth(2).input_value() == "negative"
    screenshot(page, "lead-taxonomy-mapping")
    page.get_by_test_id("confirm-publish").click()
    page.get_by_test_id("toast").filter(has_text="Published v2").wait_for()

    assert CategoryMapping.objects.count() == 3
    client = Client()
    client.force_login(annotator)
    data = client.get(f"/api/projects/{project.slug}/").json()
    assert data["taxonomy_version"] == 2
    keys = [c["key"] for c in data["categories"]]
    assert keys == ["positive", "neutral", "negative", "calculation_error"]
    calc = data["categories"][3]
    assert (calc["parent"], calc["polarity"], calc["is_rationale_required"]) == ("negative", -1, True)


def test_mapping_dialog_points_at_a_missing_mapping_and_closes_on_escape(
    page_as, live_server, project, lead, annotator
):
    trace = TraceFactory(project=project, steps=1)
    step_labels_set(trace=trace, annotator=annotator, labels=[LabelInput(0, "neutral")])
    page = page_as(lead)
    page.goto(f"{live_server.url}/projects/{project.slug}/lead/taxonomy/")
    rows = page.get_by_test_id("category-row")
    rows.nth(2).wait_for()
    rows.nth(1).get_by_test_id("cat-remove").click()
    page.get_by_test_id("publish").click()
    panel = page.get_by_test_id("mapping-panel")
    panel.wait_for()
    page.get_by_test_id("confirm-publish").click()
    focused = page.evaluate("document.activeElement.dataset.from")
    assert focused == "neutral"
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.dataset.testid") == "publish"
    assert CategoryMapping.objects.count() == 0
