"""A lead adjudicates a disagreement from the keyboard and the gold label is stored."""
import pytest
from django.template.defaultfilters import date as date_filter
from django.utils.timezone import localtime

from labeling.models import GoldLabel, Membership
from labeling.services.labels import LabelInput, step_labels_set
from labeling.services.projects import membership_set
from labeling.services.taxonomies import taxonomy_version_publish_new
from tests.e2e.lead_fixtures import screenshot
from tests.labeling.factories import TraceFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CATEGORIES = [
    {"key": "positive", "name": "Correct, makes progress", "polarity": 1, "hotkey": "1", "colour": "#1a7f37"},
    {"key": "neutral", "name": "Correct, no progress", "polarity": 0, "hotkey": "2", "colour": "#9a6700"},
    {"key": "negative", "name": "Wrong", "polarity": -1, "hotkey": "3", "colour": "#cf222e"},
    {"key": "calculation_error", "name": "Calculation error", "polarity": -1, "hotkey": "c",
     "colour": "#a40e26", "parent": "negative"},
]
STEPS = [
    "The rectangle is $7$ cm by $8$ cm, so its area is $7 \\times 8$.",
    "$7 \\times 8 = 54$, so the area is $54$ cm².",
    "Half of the area is $27$ cm².",
    "So the answer is $27$.",
]


@pytest.fixture
def disputed(project, lead):
    taxonomy_version_publish_new(project=project, categories=CATEGORIES, published_by=lead)
    people = [UserFactory(username=n) for n in ("alice", "bob", "carol")]
    for person in people:
        membership_set(project=project, user=person, role=Membership.Role.ANNOTATOR)
    trace = TraceFactory(project=project, steps=STEPS, external_id="area-7x8",
                         problem="A rectangle is 7 cm by 8 cm. What is half its area?",
                         final_answer="27", ground_truth_answer="28")
    calm = TraceFactory(project=project, steps=2, external_id="calm")
    alice, bob, carol = people
    step_labels_set(trace=trace, annotator=alice, labels=[
        LabelInput(0, "positive"), LabelInput(1, "calculation_error", rationale="7×8 is 56, not 54"),
        LabelInput(2, "negative", rationale="follows from the wrong area"), LabelInput(3, "negative")])
    step_labels_set(trace=trace, annotator=bob, labels=[
        LabelInput(0, "positive"), LabelInput(1, "positive", is_unsure=True),
        LabelInput(2, "positive"), LabelInput(3, "negative")])
    step_labels_set(trace=trace, annotator=carol, labels=[
        LabelInput(0, "neutral"), LabelInput(1, "calculation_error", rationale="56"),
        LabelInput(2, "negative"), LabelInput(3, "negative")])
    for person in (alice, bob):
        step_labels_set(trace=calm, annotator=person,
                        labels=[LabelInput(0, "positive"), LabelInput(1, "positive")])
    return trace


def test_lead_sets_gold_from_the_keyboard(page_as, live_server, project, lead, disputed):
    page = page_as(lead)
    page.goto(f"{live_server.url}/projects/{project.slug}/lead/adjudication/")
    rows = page.get_by_test_id("disputed-row")
    assert rows.count() == 1
    assert page.get_by_test_id("unanimous-count").inner_text() == "3"
    screenshot(page, "lead-adjudication-list")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.get_by_test_id("adjudication-grid").wait_for()
    page.wait_for_load_state("load")  # the keyboard handler is bound by the page's script

    step_rows = page.get_by_test_id("step-row")
    assert step_rows.count() == 4
    assert "focused" in step_rows.nth(0).get_attribute("class")  # first open step
    page.keyboard.press("1")  # step 1: correct
    step_rows.nth(0).get_by_test_id("gold-cell").filter(has_text="Correct, makes progress").wait_for()
    page.keyboard.press("c")  # focus moved to the next open step (2): calculation error
    step_rows.nth(1).get_by_test_id("gold-cell").filter(has_text="Calculation error").wait_for()
    page.keyboard.press("m")  # step 3: accept the majority (negative)
    step_rows.nth(2).get_by_test_id("gold-cell").filter(has_text="Majority").wait_for()
    screenshot(page, "lead-adjudication-trace")

    golds = {g.step.index: (g.category.key, g.method, g.decided_by.username)
             for g in GoldLabel.objects.select_related("step", "category", "decided_by")}
    assert golds == {
        0: ("positive", "lead", "lead"),
        1: ("calculation_error", "lead", "lead"),
        2: ("negative", "majority", "lead"),
    }
    assert page.locator("#open-count").inner_text() == "0"


def test_lead_turns_unanimous_steps_into_gold(page_as, live_server, project, lead, disputed):
    page = page_as(lead)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server.url}/projects/{project.slug}/lead/adjudication/")
    page.get_by_test_id("bulk-unanimous").click()
    page.get_by_test_id("toast").filter(has_text="3 unanimous step(s) are now gold").wait_for()
    assert GoldLabel.objects.filter(method="unanimous", decided_by=lead).count() == 3
    assert page.get_by_test_id("unanimous-count").inner_text() == "0"


def test_list_shows_problems_with_math_rendered_and_html_as_text(
    page_as, live_server, project, lead, disputed
):
    """The snippet reads "$5" and shows math as MathML, not LaTeX; HTML in it never runs."""
    disputed.problem = (
        r"A pen costs \$5. Solve $\frac{x}{2} = 5$ for $x$. "
        "<script>window.xss = 1</script> <img src=x onerror=\"window.xss = 2\">"
    )
    disputed.save(update_fields=["problem"])
    page = page_as(lead)
    page.goto(f"{live_server.url}/projects/{project.slug}/lead/adjudication/")
    snippet = page.get_by_test_id("problem-snippet")
    text = snippet.inner_text()
    assert text.startswith("A pen costs $5. Solve ") and "\\" not in text and "$x$" not in text
    assert "<script>window.xss = 1</script>" in text
    assert snippet.locator("math").count() == 2 and snippet.locator("mfrac").count() == 1
    assert snippet.locator("script, img").count() == 0
    assert page.evaluate("window.xss") is None
    screenshot(page, "lead-adjudication-list-snippets")


def test_gold_time_set_from_the_keyboard_reads_as_after_a_reload(
    page_as, live_server, project, lead, disputed
):
    """The browser's own time zone and locale do not change how the decision time is written."""
    page = page_as(lead, timezone_id="America/Los_Angeles")
    page.goto(f"{live_server.url}/projects/{project.slug}/lead/adjudication/{disputed.pk}/")
    page.wait_for_load_state("load")
    page.keyboard.press("1")
    cell = page.get_by_test_id("step-row").nth(0).get_by_test_id("gold-cell")
    cell.filter(has_text="Correct, makes progress").wait_for()
    written = cell.locator(".small").inner_text()
    gold = GoldLabel.objects.get(step__index=0)
    assert written == f"Lead decision · lead · {date_filter(localtime(gold.decided_at), 'j M H:i')}"
    page.reload()
    assert cell.locator(".small").inner_text() == written
