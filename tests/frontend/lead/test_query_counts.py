"""Lead pages and endpoints run as many queries on a larger project as on a small one.

Each read is measured twice per project (cold cache, then warm) on a small project and on one
with more annotators, traces, steps, labels, gold labels, taxonomy versions and members: any
query per row (N+1) makes the counts differ. Absolute bounds on small data would not catch it.
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

from labeling.models import Assignment, GoldLabel, Membership, Project
from labeling.services.gold import gold_label_set
from labeling.services.labels import LabelInput, step_labels_set
from labeling.services.projects import membership_set, project_create
from labeling.services.taxonomies import taxonomy_publish
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


def _project(slug: str, lead, size: Size) -> tuple[Project, int]:
    """Return a labelled project of this size and its first (disputed) trace's id."""
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
    return project, traces[0].pk


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


PAGES = [
    ("lead:settings", {}, ""),
    ("lead:taxonomy", {}, ""),
    ("lead:members", {}, ""),
    ("lead:dashboard", {}, ""),
    *[("lead:dashboard-csv", {}, f"?chart={chart}") for chart in (
        "headline", "confusion", "annotators", "categories", "weekly", "progress", "daily")],
    ("lead:adjudication", {}, ""),
    ("lead:adjudication-trace", {"trace_id": None}, ""),
]
ENDPOINTS = [
    ("labeling:lead-taxonomy", {}, ""),
    ("labeling:lead-members", {}, ""),
    ("labeling:lead-settings", {}, ""),
    ("labeling:lead-adjudication", {}, ""),
    ("labeling:lead-adjudication-trace", {"trace_id": None}, ""),
    ("labeling:dashboard-progress", {}, ""),
    ("labeling:agreement-report", {}, "?bootstrap=20"),
]


def _counts(client, name: str, kwargs: dict, query: str, project: Project, trace_id: int):
    """Return (cold, warm) query counts of one GET on this project."""
    filled = {key: trace_id for key in kwargs}
    url = reverse(name, kwargs={"slug": project.slug, **filled}) + query
    client.get(reverse("frontend:home"))  # session and user loaded once, like a real visit
    cache.clear()
    cold = _count(client.get, url)
    warm = _count(client.get, url)
    return cold, warm


@pytest.fixture
def projects(lead):
    return _project("small", lead, SMALL), _project("large", lead, LARGE)


@pytest.mark.parametrize(("name", "kwargs", "query"), PAGES, ids=[p[0] + p[2] for p in PAGES])
def test_lead_page_queries_do_not_grow_with_the_project(name, kwargs, query, projects, lead):
    client = _page_client(lead)
    (small, small_trace), (large, large_trace) = projects
    assert _counts(client, name, kwargs, query, small, small_trace) == _counts(
        client, name, kwargs, query, large, large_trace
    )


@pytest.mark.parametrize(("name", "kwargs", "query"), ENDPOINTS,
                         ids=[e[0] for e in ENDPOINTS])
def test_lead_endpoint_queries_do_not_grow_with_the_project(name, kwargs, query, projects,
                                                             lead):
    client = _api_client(lead)
    (small, small_trace), (large, large_trace) = projects
    assert _counts(client, name, kwargs, query, small, small_trace) == _counts(
        client, name, kwargs, query, large, large_trace
    )
