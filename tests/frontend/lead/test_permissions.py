"""Every lead page and lead API endpoint refuses annotators and researchers (403) and hides the
project from non-members (404), with the list of routes read from the URLconf (routes.py): a
new lead route is covered without editing this file; one open to researchers too must be
listed in RESEARCHER_ALLOWED on purpose.
"""
import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from labeling.models import Assignment, ImportJob
from tests.frontend.lead.routes import MEMBER_ENDPOINTS, METHODS, Route, lead_routes, walk
from tests.labeling.factories import TraceFactory

pytestmark = pytest.mark.django_db

# The lead routes researchers may use too: the agreement figures and the dashboard.
RESEARCHER_ALLOWED = {
    "lead:dashboard", "lead:dashboard-csv", "labeling:agreement-report",
    "labeling:dashboard-progress",
}
# Query strings some routes need to answer at all.
QUERY = {"lead:dashboard-csv": "?chart=progress"}

ROUTES = lead_routes()
CASES = [(route, method) for route in ROUTES for method in route.methods]


def test_the_derived_list_covers_the_lead_area():
    names = {route.name for route in ROUTES}
    assert len(ROUTES) >= 20 and len(CASES) >= 30, (len(ROUTES), len(CASES))
    for expected in ("lead:settings", "lead:taxonomy", "lead:members", "lead:adjudication",
                     "lead:adjudication-trace", "labeling:lead-gold-label",
                     "labeling:trace-qc", "labeling:import-list"):
        assert expected in names
    # The allow-lists name real routes (a renamed route must not silently drop out).
    all_names = {f"{ns}:{p.name}" for _, ns, p in walk()}
    assert RESEARCHER_ALLOWED <= names
    assert MEMBER_ENDPOINTS <= all_names and not MEMBER_ENDPOINTS & names


@pytest.fixture
def url_of(project, annotator):
    """Fill a route's URL kwargs with real objects of the project."""
    trace = TraceFactory(project=project, steps=2)
    assignment = Assignment.objects.create(trace=trace, annotator=annotator)
    job = ImportJob.objects.create(project=project, filename="x.jsonl")
    values = {
        "slug": project.slug, "trace_id": trace.pk, "step_index": 0, "user_id": annotator.pk,
        "assignment_id": assignment.pk, "pk": job.pk,
    }

    def url(route: Route) -> str:
        missing = set(route.kwargs) - set(values)
        assert not missing, f"{route.name}: add a value for URL kwargs {missing} to url_of"
        path = reverse(route.name, kwargs={key: values[key] for key in route.kwargs})
        return path + QUERY.get(route.name, "")

    return url


def _request(user, route: Route, method: str, url: str):
    if route.is_api:
        client = APIClient()
        client.force_authenticate(user)
        return getattr(client, method)(url, {}, format="json")
    client = Client()
    client.force_login(user)
    return getattr(client, method)(url, {})


def _ids(cases):
    return [f"{route.name}-{method}" for route, method in cases]


def _refused(route: Route, status: int, expected: int) -> bool:
    # A page may answer a method it does not serve with 405 before looking at the caller
    # (require_POST); test_every_page_checks_the_role makes sure each page checks it at all.
    return status == expected or (not route.is_api and status == 405)


@pytest.mark.parametrize(("route", "method"), CASES, ids=_ids(CASES))
def test_annotators_get_403(route, method, annotator, url_of):
    assert _refused(route, _request(annotator, route, method, url_of(route)).status_code, 403)


@pytest.mark.parametrize("route", [r for r in ROUTES if not r.is_api],
                         ids=[r.name for r in ROUTES if not r.is_api])
def test_every_page_checks_the_role(route, annotator, user, url_of):
    assert 403 in {_request(annotator, route, m, url_of(route)).status_code for m in METHODS}
    assert 404 in {_request(user, route, m, url_of(route)).status_code for m in METHODS}


@pytest.mark.parametrize(("route", "method"), CASES, ids=_ids(CASES))
def test_researchers_get_403_except_on_the_dashboard(route, method, researcher, url_of):
    status = _request(researcher, route, method, url_of(route)).status_code
    if route.name in RESEARCHER_ALLOWED:
        assert status not in (401, 403, 404)
    else:
        assert _refused(route, status, 403)


@pytest.mark.parametrize(("route", "method"), CASES, ids=_ids(CASES))
def test_non_members_get_404(route, method, user, url_of):
    assert _refused(route, _request(user, route, method, url_of(route)).status_code, 404)


@pytest.mark.parametrize(("route", "method"), CASES, ids=_ids(CASES))
def test_anonymous_visitors_get_nothing(route, method, url_of):
    client = APIClient() if route.is_api else Client()
    response = getattr(client, method)(url_of(route), {})
    if route.is_api:
        assert response.status_code in (401, 403)
    elif response.status_code != 405:
        assert response.status_code == 302 and "/login/" in response["Location"]


READS = [(route, "get") for route in ROUTES if "get" in route.methods]


@pytest.mark.parametrize(("route", "method"), READS, ids=_ids(READS))
def test_leads_may_read(route, method, lead, url_of):
    status = _request(lead, route, method, url_of(route)).status_code
    # 405: a POST-only page; 404 would mean the URL kwargs above do not fit the route.
    assert status in (200, 405), status
