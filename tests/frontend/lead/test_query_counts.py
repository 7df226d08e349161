"""Lead pages and endpoints run as many queries on a larger project as on a small one.

Every lead route answering GET is read from the URLconf (routes.py) and measured twice per
project (cold cache, then warm) on a small project and on one with more annotators, traces,
steps, labels, gold labels, taxonomy versions, members and import jobs: any query per row (N+1)
makes the counts differ, where an absolute bound on small data would not.
"""
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from frontend.lead.dashboard import CHARTS
from labeling.models import Assignment, GoldLabel, ImportJob, Membership, Project
from labeling.services.gold import gold_label_set
from labeling.services.labels import LabelInput, step_labels_set
from labeling.services.projects import membership_set, project_create
from labeling.services.taxonomies import taxonomy_publish
from tests.frontend.lead.routes import Route, lead_routes
from tests.labeling.factories import TraceFactory, UserFactory

pytestmark = pytest.mark.django_db

KEYS = ["positive", "neutral", "negative"]


@dataclass(frozen=True)
class Size:
    annotators: int
    traces: int
    steps: int
    versions: int  # taxonomy versions published on top of the default one


SMALL = Size(annotators=2, traces=2, steps=2, versions=0)
LARGE = Size(annotators=5, traces=9, steps=6, versions=2)


def _project(slug: str, lead, size: Size) -> tuple[Project, dict]:
    """Return a labelled project of this size and the URL kwargs of its objects."""
    project = project_create(name=slug, slug=slug, lead=lead)
    for n in range(size.versions):
        taxonomy_publish(project=project, published_by=lead, notes=f"v{n + 2}", categories=[
            {"key": key, "name": f"{key} {n}", "polarity": 1 - i, "hotkey": str(i + 1),
             "colour": "#1a7f37"} for i, key in enumerate(KEYS)
        ])
    people = [UserFactory(username=f"{slug}-ann{i}") for i in range(size.annotators)]
    for person in people:
        membership_set(project=project, user=person, role=Membership.Role.ANNOTATOR)
    for i in range(size.annotators):
        researcher = UserFactory(username=f"{slug}-res{i}")
        membership_set(project=project, user=researcher, role=Membership.Role.RESEARCHER)
    now = timezone.now()
    traces = [TraceFactory(project=project, steps=size.steps) for _ in range(size.traces)]
    for n, trace in enumerate(traces):
        for i, person in enumerate(people):
            # Annotators disagree on the first step of every trace, agree on the rest.
            step_labels_set(trace=trace, annotator=person, labels=[
                LabelInput(s, KEYS[(i + n) % 3] if s == 0 else "positive",
                           rationale=f"r{i}" if s == 0 else "")
                for s in range(size.steps)
            ])
            Assignment.objects.create(
                trace=trace, annotator=person, state=Assignment.State.SUBMITTED,
                seconds_spent=20 + i, submitted_at=now,
            )
    # Gold on every step of the last trace (a QC trace) and on one step of the others.
    qc = traces[-1]
    for s in range(size.steps):
        gold_label_set(project=project, trace=qc, step_index=s, category_key="positive",
                       decided_by=lead)
    qc.is_qc = True
    qc.save(update_fields=["is_qc"])
    for trace in traces[1:-1]:
        gold_label_set(project=project, trace=trace, step_index=1, category_key="positive",
                       decided_by=lead)
    assert GoldLabel.objects.filter(trace__project=project).count() >= size.steps
    jobs = [ImportJob.objects.create(project=project, filename=f"{slug}-{n}.jsonl",
                                     created_by=lead) for n in range(size.annotators)]
    return project, {
        "slug": project.slug, "trace_id": traces[0].pk, "step_index": 0,
        "user_id": people[0].pk, "pk": jobs[0].pk,
    }


def _count(get, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries)


def _page_client(lead) -> Client:
    client = Client()
    client.force_login(lead)
    return client


def _api_client(lead) -> APIClient:
    client = APIClient()
    client.force_authenticate(lead)
    return client


# Every lead route that answers GET (from the URLconf), plus each chart of the dashboard's CSV.
POST_ONLY = {"lead:guidelines-preview"}
READS = [
    *[(route, "") for route in lead_routes()
      if "get" in route.methods and route.name not in POST_ONLY | {"lead:dashboard-csv"}],
    *[(route, f"?chart={chart}") for route in lead_routes()
      if route.name == "lead:dashboard-csv" for chart in CHARTS],
]


def test_every_lead_read_is_measured():
    names = {route.name for route, _ in READS}
    assert len(READS) >= 20 and {"lead:dashboard", "lead:members", "lead:adjudication",
                                 "labeling:lead-adjudication", "labeling:import-list"} <= names
    assert POST_ONLY <= {route.name for route in lead_routes()}


def _counts(client, route: Route, query: str, project: Project, objects: dict) -> tuple:
    """Return (cold, warm) query counts of one GET on this project."""
    url = reverse(route.name, kwargs={key: objects[key] for key in route.kwargs}) + query
    client.get(reverse("frontend:home"))  # session and user loaded once, like a real visit
    cache.clear()
    return _count(client.get, url), _count(client.get, url)


@pytest.fixture
def projects(lead):
    return _project("small", lead, SMALL), _project("large", lead, LARGE)


@pytest.mark.parametrize(("route", "query"), READS,
                         ids=[route.name + query for route, query in READS])
def test_lead_reads_run_as_many_queries_on_a_larger_project(route, query, projects, lead):
    client = _api_client(lead) if route.is_api else _page_client(lead)
    (small, small_objects), (large, large_objects) = projects
    assert _counts(client, route, query, small, small_objects) == _counts(
        client, route, query, large, large_objects
    )
