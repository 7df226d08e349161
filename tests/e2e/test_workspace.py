"""The annotator's day in a real browser: keyboard labelling, reload, submit, next trace."""
import pytest

from labeling.models import Assignment, Membership, Project, StepLabel
from labeling.services.projects import membership_set, project_create
from labeling.services.taxonomies import DEFAULT_CATEGORIES, taxonomy_version_publish_new
from tests.e2e.conftest import login
from tests.labeling.factories import TraceFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GUIDELINES = """Label **every step**.

- ✓ when the step is correct and moves forward
- ~ when it is correct but adds nothing
- ✗ when anything in it is wrong: say why in a short rationale
"""

MATH_STEPS = [
    r"Let $x$ be the number of apples. Then $3x + 5 = 20$.",
    r"Subtract 5 from both sides: $3x = 15$.",
    r"Divide by 3: $$x = \frac{15}{3} = 5.$$",
    r"Check: \(3 \cdot 5 + 5 = 20\) holds.",
    r"So Alice has **5** apples, and Bob has $2x = 10$.",
    r"The total is $5 + 10 = 16$.",
    r"Hence the ratio is $\frac{10}{5} = 2$.",
    r"Squares: $x^2 = 25$ and $\sqrt{25} = 5$.",
    r"Summing $\sum_{i=1}^{3} i = 6$ as a sanity check.",
    r"The answer is $\boxed{16}$.",
]


def _setup(first_error: bool = False, steps=None, problem=None):
    lead = UserFactory(username="e2e-lead")
    project = project_create(
        name="Algebra word problems", slug="algebra", lead=lead, guidelines=GUIDELINES,
        labeling_mode=Project.LabelingMode.FIRST_ERROR if first_error else Project.LabelingMode.EVERY_STEP,
    )
    annotator = UserFactory(username="e2e-ann")
    membership_set(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    first = TraceFactory(
        project=project,
        problem=problem
        or r"Alice has $x$ apples; three times that plus five is $20$. Bob has twice as many. How many in total?",
        steps=steps or MATH_STEPS,
        final_answer="16",
    )
    second = TraceFactory(project=project, steps=3, problem="A second problem: what is $2+2$?")
    return project, annotator, first, second


def _start(page, live_server, project):
    login(page, live_server, "e2e-ann")
    page.get_by_test_id("start-labeling").click()
    _ready(page)


def _ready(page):
    page.wait_for_selector('body[data-workspace-ready="true"]')


def _saved(page):
    page.wait_for_function("window.prmWorkspace && window.prmWorkspace.pending.size === 0")
    page.wait_for_selector('[data-testid="save-status"][data-state="saved"]')


def test_label_a_trace_from_the_keyboard_reload_submit_and_get_the_next(live_server, make_page, artifacts):
    project, annotator, first, second = _setup()
    page = make_page(1280, 800)
    login(page, live_server, "e2e-ann")
    row = page.get_by_test_id("project-row")
    assert row.get_by_test_id("available-count").inner_text() == "2"
    page.screenshot(path=str(artifacts / "home-1280.png"))
    page.get_by_test_id("start-labeling").click()
    _ready(page)
    assert page.url.endswith(f"/traces/{first.pk}/")
    assert page.get_by_test_id("step").count() == 10
    assert page.locator('[data-testid="problem"] math').count() >= 1

    # Steps 1-5: positive, neutral, negative (+ rationale), positive + unsure, positive.
    page.keyboard.press("1")
    page.keyboard.press("2")
    page.keyboard.press("3")
    page.keyboard.press("k")  # labelling moved on to step 4; back to the wrong step
    page.keyboard.press("r")
    page.keyboard.type("15/3 is 5 but the text says 6")
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("1")
    page.keyboard.press("k")
    page.keyboard.press("f")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("1")
    _saved(page)
    assert page.get_by_test_id("progress").inner_text().startswith("5/10")
    page.screenshot(path=str(artifacts / "workspace-1280-halfway.png"))

    page.reload()
    _ready(page)
    steps = page.get_by_test_id("step")
    assert steps.nth(0).get_by_test_id("choice-positive").get_attribute("aria-pressed") == "true"
    assert steps.nth(1).get_by_test_id("choice-neutral").get_attribute("aria-pressed") == "true"
    assert steps.nth(2).get_by_test_id("choice-negative").get_attribute("aria-pressed") == "true"
    assert steps.nth(2).get_by_test_id("rationale").input_value() == "15/3 is 5 but the text says 6"
    assert steps.nth(3).get_by_test_id("unsure-toggle").get_attribute("aria-pressed") == "true"
    # The page reopens at the first unlabelled step.
    assert "current" in steps.nth(5).get_attribute("class")

    # Undo: label step 6 then take it back.
    page.keyboard.press("2")
    page.keyboard.press("u")
    assert steps.nth(5).get_by_test_id("choice-neutral").get_attribute("aria-pressed") == "false"
    page.keyboard.press("k")  # undo moved focus to step 6; stay there
    page.keyboard.press("j")

    # Submitting too early points at the first missing step.
    page.keyboard.press("Control+Enter")
    assert "label steps 6, 7, 8, 9, 10" in page.get_by_test_id("submit-message").inner_text()
    assert "current" in steps.nth(5).get_attribute("class")
    assert steps.nth(5).get_by_test_id("step-error").inner_text() == "Needs a label."

    page.keyboard.press("?")
    assert page.get_by_test_id("help-overlay").is_visible()
    page.screenshot(path=str(artifacts / "workspace-1280-help.png"))
    page.keyboard.press("Escape")
    assert not page.get_by_test_id("help-overlay").is_visible()

    for key in "12112":
        page.keyboard.press(key)
    _saved(page)
    page.screenshot(path=str(artifacts / "workspace-1280-complete.png"), full_page=True)
    page.keyboard.press("Control+Enter")
    page.wait_for_url(f"**/traces/{second.pk}/")
    _ready(page)
    assert not page.js_errors, page.js_errors
    page.goto(f"{live_server.url}/")
    assert page.get_by_test_id("submitted-count").inner_text() == "1"
    assert page.get_by_test_id("in-progress-count").inner_text() == "1"
    assert page.get_by_test_id("start-labeling").inner_text() == "Continue labeling"
    page.get_by_test_id("logout").click()
    page.wait_for_url("**/login/")

    assignment = Assignment.objects.get(trace=first, annotator=annotator)
    assert assignment.state == Assignment.State.SUBMITTED
    assert assignment.seconds_spent > 0
    labels = {
        label.step.index: (label.category.key, label.is_unsure, label.rationale)
        for label in StepLabel.objects.filter(trace=first, annotator=annotator).select_related("step", "category")
    }
    assert labels == {
        0: ("positive", False, ""), 1: ("neutral", False, ""),
        2: ("negative", False, "15/3 is 5 but the text says 6"), 3: ("positive", True, ""),
        4: ("positive", False, ""), 5: ("positive", False, ""), 6: ("neutral", False, ""),
        7: ("positive", False, ""), 8: ("positive", False, ""), 9: ("neutral", False, ""),
    }


def test_first_error_mode_fades_later_steps_and_allows_submit(live_server, make_page, artifacts):
    project, annotator, first, second = _setup(first_error=True)
    page = make_page(1280, 800)
    _start(page, live_server, project)
    page.keyboard.press("1")
    page.keyboard.press("1")
    page.keyboard.press("3")
    steps = page.get_by_test_id("step")
    for i in range(3, 10):
        assert "after-error" in steps.nth(i).get_attribute("class")
        assert steps.nth(i).get_by_test_id("after-error").is_visible()
    # The step text fades; the "after first error" note itself stays at full strength.
    assert steps.nth(4).evaluate("el => getComputedStyle(el).opacity") == "1"
    text_opacity = steps.nth(4).locator(".step-text").evaluate("el => getComputedStyle(el).opacity")
    assert float(text_opacity) < 1
    assert page.get_by_test_id("progress").inner_text().startswith("3/3")
    _saved(page)
    page.screenshot(path=str(artifacts / "workspace-1280-first-error.png"))
    page.keyboard.press("Control+Enter")
    page.wait_for_url(f"**/traces/{second.pk}/")
    assert Assignment.objects.get(trace=first, annotator=annotator).state == Assignment.State.SUBMITTED
    assert StepLabel.objects.filter(trace=first, annotator=annotator).count() == 3


def test_script_and_onerror_in_a_trace_render_as_text_and_run_nothing(live_server, make_page, artifacts):
    evil = "<script>window.__pwned = 1</script>"
    img = "<img src=x onerror=\"window.__pwned = 2\">"
    project, annotator, first, second = _setup(
        problem=f"Solve {evil} this {img}",
        steps=[f"step one {evil}", f"step two {img} with $x^2$", "**fine** step"],
    )
    page = make_page(1280, 800)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _start(page, live_server, project)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert not dialogs
    assert page.locator('.ws-main script, .ws-main img').count() == 0
    assert evil in page.get_by_test_id("problem").inner_text()
    assert img in page.get_by_test_id("step").nth(1).inner_text()
    page.screenshot(path=str(artifacts / "workspace-1280-xss.png"))


def test_skip_with_a_reason_opens_the_next_trace(live_server, make_page):
    project, annotator, first, second = _setup()
    page = make_page(1280, 800)
    _start(page, live_server, project)
    page.keyboard.press("s")
    assert page.get_by_test_id("skip-dialog").is_visible()
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/traces/{second.pk}/")
    skipped = Assignment.objects.get(trace=first, annotator=annotator)
    assert (skipped.state, skipped.skip_reason) == (Assignment.State.SKIPPED, "cannot_judge")


def test_skip_as_other_without_a_note_says_so_at_the_note(live_server, make_page):
    project, annotator, first, second = _setup()
    page = make_page(1280, 800)
    _start(page, live_server, project)
    page.keyboard.press("s")
    page.keyboard.press("3")
    page.get_by_test_id("skip-confirm").click()
    note = page.get_by_test_id("skip-note")
    assert "note" in page.get_by_test_id("skip-error").inner_text()
    assert note.get_attribute("aria-invalid") == "true"
    assert note.evaluate("el => el === document.activeElement")
    assignment = Assignment.objects.get(trace=first, annotator=annotator)
    assert assignment.state == Assignment.State.IN_PROGRESS
    note.fill("The problem statement is cut off.")
    assert page.get_by_test_id("skip-error").inner_text() == ""
    page.get_by_test_id("skip-confirm").click()
    page.wait_for_url(f"**/traces/{second.pk}/")
    assert Assignment.objects.get(trace=first, annotator=annotator).skip_reason == "other"


def test_a_failed_save_is_shown_and_retried(live_server, make_page):
    project, annotator, first, second = _setup()
    page = make_page(1280, 800)
    _start(page, live_server, project)
    failures = {"left": 2}

    def flaky(route):
        if route.request.method == "PUT" and failures["left"] > 0:
            failures["left"] -= 1
            route.fulfill(status=503, body='{"detail": "temporarily unavailable"}', content_type="application/json")
        else:
            route.continue_()

    page.route("**/api/projects/*/traces/*/labels/**", flaky)
    page.keyboard.press("1")
    page.wait_for_selector('[data-testid="save-status"][data-state="failed"]')
    assert "retrying" in page.get_by_test_id("save-status").inner_text()
    _saved(page)
    assert StepLabel.objects.filter(trace=first, annotator=annotator, step__index=0).exists()


def test_workspace_fits_a_390_px_screen(live_server, make_page, artifacts):
    project, annotator, first, second = _setup()
    page = make_page(390, 844)
    _start(page, live_server, project)
    page.keyboard.press("1")
    page.keyboard.press("3")
    _saved(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width}px wide"
    assert page.get_by_test_id("submit").is_visible()
    page.screenshot(path=str(artifacts / "workspace-390.png"))
    page.screenshot(path=str(artifacts / "workspace-390-full.png"), full_page=True)
    page.get_by_test_id("skip-button").click()
    assert page.get_by_test_id("skip-dialog").is_visible()
    page.screenshot(path=str(artifacts / "workspace-390-skip.png"))
    page.get_by_test_id("skip-cancel").click()
    assert not page.get_by_test_id("skip-dialog").is_visible()


def test_hotkeys_come_from_the_taxonomy_with_child_categories_and_required_rationale(live_server, make_page, artifacts):
    project, annotator, first, second = _setup()
    taxonomy_version_publish_new(
        project=project,
        categories=[
            {**DEFAULT_CATEGORIES[0], "hotkey": "a"},
            {**DEFAULT_CATEGORIES[1], "hotkey": "b"},
            {**DEFAULT_CATEGORIES[2], "hotkey": "x"},
            {"key": "calculation", "name": "Calculation error", "polarity": -1, "hotkey": "c",
             "parent": "negative", "is_rationale_required": True,
             "description": "An arithmetic or algebra slip."},
            {"key": "logic", "name": "Logical error", "polarity": -1, "hotkey": "l", "parent": "negative"},
            {"key": "hallucination", "name": "Hallucinated fact", "polarity": -1, "hotkey": "h", "parent": "negative"},
        ],
    )
    page = make_page(1280, 800)
    _start(page, live_server, project)
    steps = page.get_by_test_id("step")
    page.keyboard.press("1")  # not a hotkey of this taxonomy any more
    assert steps.nth(0).get_by_test_id("choice-positive").get_attribute("aria-pressed") == "false"
    page.keyboard.press("a")
    page.keyboard.press("x")  # negative: its kinds appear under it, focus stays
    assert steps.nth(1).get_by_test_id("choice-calculation").is_visible()
    page.keyboard.press("c")  # a kind that requires a rationale opens the box
    assert page.evaluate("document.activeElement.dataset.testid") == "rationale"
    page.keyboard.type("6/3 is 2, not 3")
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("l")
    _saved(page)
    page.screenshot(path=str(artifacts / "workspace-1280-taxonomy.png"))
    labels = dict(
        StepLabel.objects.filter(trace=first, annotator=annotator).values_list("step__index", "category__key")
    )
    assert labels == {0: "positive", 1: "calculation", 2: "logic"}
    assert StepLabel.objects.get(trace=first, step__index=1).rationale == "6/3 is 2, not 3"
    assert not page.js_errors, page.js_errors


def test_labels_not_yet_saved_survive_a_reload_and_are_saved_then(live_server, make_page):
    project, annotator, first, second = _setup()
    page = make_page(1280, 800)
    page.on("dialog", lambda d: d.accept())  # the "leave with unsaved work?" prompt
    _start(page, live_server, project)
    page.route("**/api/projects/*/traces/*/labels/**", lambda route: route.abort())
    page.keyboard.press("1")
    page.keyboard.press("3")
    page.wait_for_selector('[data-testid="save-status"][data-state="failed"]')
    assert not StepLabel.objects.filter(trace=first).exists()
    page.unroute("**/api/projects/*/traces/*/labels/**")
    page.reload()
    _ready(page)
    _saved(page)
    rows = StepLabel.objects.filter(trace=first, annotator=annotator).values_list("step__index", "category__key")
    labels = dict(rows)
    assert labels == {0: "positive", 1: "negative"}
