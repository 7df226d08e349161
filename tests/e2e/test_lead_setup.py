"""A lead edits project settings with a live guidelines preview, and manages members."""
import pytest

from labeling.models import Membership, Project
from tests.e2e.lead_fixtures import screenshot
from tests.labeling.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GUIDELINES = """## How to label a step

* **Correct (1)**: nothing in the step is wrong.
* **Wrong (3)**: anything incorrect, even partly. Use `c` for calculation errors.
"""


def test_lead_edits_settings_and_sees_the_guidelines_preview(page_as, live_server, project, lead):
    page = page_as(lead)
    page.goto(f"{live_server.url}/projects/{project.slug}/lead/")
    page.get_by_test_id("setting-guidelines").fill(GUIDELINES)
    page.get_by_test_id("guidelines-preview").locator("strong", has_text="Correct (1)").wait_for()
    page.get_by_test_id("setting-overlap").fill("3")
    page.get_by_test_id("setting-mode-first_error").check()
    page.get_by_test_id("setting-blind").uncheck()
    screenshot(page, "lead-settings")
    page.get_by_test_id("settings-save").click()
    page.get_by_test_id("toast").filter(has_text="Settings saved").wait_for()
    project = Project.objects.get(pk=project.pk)
    assert (project.overlap, project.labeling_mode, project.is_blind) == (3, "first_error", False)
    assert project.guidelines.startswith("## How to label a step")

    page.get_by_test_id("setting-overlap").fill("0")
    page.get_by_test_id("settings-save").click()
    page.get_by_test_id("settings-error").filter(has_text="overlap").wait_for()
    assert Project.objects.get(pk=project.pk).overlap == 3


def test_lead_adds_creates_and_promotes_members(page_as, live_server, project, lead, annotator):
    UserFactory(username="bob", first_name="Bob", last_name="Stone")
    page = page_as(lead)
    page.goto(f"{live_server.url}/projects/{project.slug}/lead/members/")
    page.get_by_test_id("add-username").fill("bob")
    page.get_by_test_id("add-submit").click()
    page.get_by_test_id("member-row").filter(has_text="Bob Stone").wait_for()
    page.wait_for_load_state("load")
    page.get_by_test_id("create-username").fill("carol")
    page.get_by_test_id("create-password").fill("carol-long-pass-1")
    page.get_by_test_id("create-role").select_option("researcher")
    page.get_by_test_id("create-submit").click()
    page.get_by_test_id("member-row").filter(has_text="carol").wait_for()
    page.wait_for_load_state("load")  # the reloaded page's script binds the role selects
    row = page.locator("[data-testid=member-row][data-username=ann]")
    row.get_by_test_id("role-select").select_option("lead")
    page.get_by_test_id("toast").filter(has_text="ann is now lead").wait_for()
    screenshot(page, "lead-members")
    roles = dict(Membership.objects.filter(project=project).values_list("user__username", "role"))
    assert roles == {"lead": "lead", "ann": "lead", "bob": "annotator", "carol": "researcher"}


def test_lead_creates_a_project_and_lands_on_its_setup(page_as, live_server, project, lead):
    page = page_as(lead)
    page.goto(f"{live_server.url}/projects/new/")
    page.get_by_test_id("new-name").fill("Geometry PRM")
    assert page.get_by_test_id("new-slug").input_value() == "geometry-prm"
    page.get_by_test_id("setting-overlap").fill("3")
    screenshot(page, "lead-project-new")
    page.get_by_test_id("new-submit").click()
    page.wait_for_url(f"{live_server.url}/projects/geometry-prm/lead/")
    created = Project.objects.get(slug="geometry-prm")
    assert (created.name, created.overlap, created.taxonomy_version.number) == ("Geometry PRM", 3, 1)
    assert Membership.objects.get(project=created).user == lead
