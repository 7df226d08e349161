"""The demo project's dashboard shows the agreement engine's figures, to the third decimal."""
import pytest
from django.core.management import call_command

from frontend.lead.dashboard import DASHBOARD_RESAMPLES, DASHBOARD_SEED, HEADLINE, SECONDARY
from labeling.agreement.report import agreement_report
from labeling.models import Project, User
from labeling.selectors.agreement import AgreementFilters, label_arrays_for_project
from tests.e2e.lead_fixtures import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _figure(result, name):
    if name.startswith("first_error_"):
        return result["first_error"][name.removeprefix("first_error_")]
    return result[name]


def test_demo_dashboard_shows_the_agreement_engine_figures(page_as, live_server):
    call_command("demo", verbosity=0)
    project = Project.objects.get(slug="demo")
    expected = agreement_report(
        label_arrays_for_project(project_id=project.pk, filters=AgreementFilters()),
        n_resamples=DASHBOARD_RESAMPLES, seed=DASHBOARD_SEED,
    )
    page = page_as(User.objects.get(username="lead"))
    page.goto(f"{live_server.url}/projects/demo/lead/dashboard/")
    for name, *_ in [*HEADLINE, *SECONDARY]:
        figure = _figure(expected, name)
        card = page.get_by_test_id(f"figure-{name}")
        assert figure["value"] is not None, name
        assert card.get_by_test_id("figure-value").inner_text() == f"{figure['value']:.3f}", name
        if name in dict((h[0], h) for h in HEADLINE):
            ci = card.get_by_test_id("figure-ci").inner_text()
            assert ci == f"95 % CI {figure['ci_low']:.3f} – {figure['ci_high']:.3f}", name
    rows = page.get_by_test_id("annotator-row")
    assert rows.count() == len(expected["per_annotator"])
    for row in expected["per_annotator"]:
        cell = page.locator(f"[data-annotator='{row['annotator']}'] [data-testid=consensus]")
        assert cell.inner_text() == f"{row['consensus']['agreement']['value']:.3f}"
    assert page.get_by_test_id("state-fully_labeled").locator(".state-n").inner_text() == "20"
    assert page.get_by_test_id("state-unassigned").locator(".state-n").inner_text() == "10"
    # One square per annotator per day in the calendar heatmap.
    assert page.get_by_test_id("daily-chart").locator("rect").count() == 3 * 28
    screenshot(page, "lead-dashboard")
    page.set_viewport_size({"width": 1280, "height": 2400})
    screenshot(page, "lead-dashboard-full")


def test_researcher_sees_dashboard_and_exports_tabs_only(page_as, live_server):
    call_command("demo", verbosity=0)
    page = page_as(User.objects.get(username="rita"))
    page.goto(f"{live_server.url}/projects/demo/lead/dashboard/")
    tabs = page.get_by_test_id("lead-tabs").locator("a")
    assert tabs.all_inner_texts() == ["Dashboard", "Exports"]
    assert page.get_by_test_id("figure-krippendorff_alpha_nominal").is_visible()


def test_lead_marks_a_fully_gold_trace_as_qc_and_home_links_lead_there(page_as, live_server):
    from labeling.models import Category, GoldLabel, Trace

    call_command("demo", verbosity=0)
    project = Project.objects.get(slug="demo")
    trace = Trace.objects.filter(project=project, step_labels__isnull=False).first()
    positive = Category.objects.get(version=project.taxonomy_version, key="positive")
    lead = User.objects.get(username="lead")
    GoldLabel.objects.bulk_create(
        GoldLabel(step=step, trace=trace, category=positive, polarity=1,
                  method=GoldLabel.Method.LEAD, decided_by=lead)
        for step in trace.steps.all()
    )
    page = page_as(lead)
    page.goto(f"{live_server.url}/")
    screenshot(page, "home-lead-links")
    page.get_by_test_id("link-adjudication").click()
    page.wait_for_url(f"{live_server.url}/projects/demo/lead/adjudication/")
    page.goto(f"{live_server.url}/projects/demo/lead/adjudication/{trace.pk}/")
    page.get_by_test_id("qc-toggle").click()
    page.get_by_test_id("qc-state").wait_for()
    screenshot(page, "lead-adjudication-qc")
    trace.refresh_from_db()
    assert trace.is_qc is True
