"""Pages: home, start labeling, the trace workspace (permissions, escaping, query counts)."""
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.models import Assignment, Membership, Project
from labeling.services.labels import LabelInput, step_labels_set
from labeling.services.projects import membership_set
from labeling.services.queue import assignment_next_for_annotator
from tests.labeling.factories import TraceFactory, UserFactory

pytestmark = pytest.mark.django_db


def _url(project, trace):
    return f"/projects/{project.slug}/traces/{trace.pk}/"


def test_home_offers_start_labeling_to_annotators(client, annotator, project):
    TraceFactory(project=project, steps=2)
    client.force_login(annotator)
    body = client.get("/").content.decode()
    assert 'data-testid="start-labeling"' in body
    assert 'data-testid="available-count">1<' in body


def test_home_offers_no_labeling_to_researchers(client, researcher, project):
    TraceFactory(project=project, steps=2)
    client.force_login(researcher)
    assert 'data-testid="start-labeling"' not in client.get("/").content.decode()


def test_start_labeling_opens_the_next_trace_then_the_same_one(client, annotator, project):
    trace = TraceFactory(project=project, steps=2)
    TraceFactory(project=project, steps=2)
    client.force_login(annotator)
    first = client.post(f"/projects/{project.slug}/start/")
    assert first.status_code == 302 and first["Location"] == _url(project, trace)
    again = client.post(f"/projects/{project.slug}/start/")
    assert again["Location"] == _url(project, trace)


def test_start_labeling_with_nothing_left_says_so(client, annotator, project):
    client.force_login(annotator)
    response = client.post(f"/projects/{project.slug}/start/", follow=True)
    assert b"Nothing left to label" in response.content


def test_start_labeling_is_refused_to_researchers_and_hidden_from_strangers(client, researcher, user, project):
    client.force_login(researcher)
    assert client.post(f"/projects/{project.slug}/start/").status_code == 403
    client.force_login(user)
    assert client.post(f"/projects/{project.slug}/start/").status_code == 404


def test_trace_page_is_only_for_the_assigned_annotator(client, annotator, project):
    trace = TraceFactory(project=project, steps=2)
    other = UserFactory(username="other-ann")
    membership_set(project=project, user=other, role=Membership.Role.ANNOTATOR)
    assignment_next_for_annotator(project=project, annotator=annotator)
    client.force_login(annotator)
    assert client.get(_url(project, trace)).status_code == 200
    client.force_login(other)
    assert client.get(_url(project, trace)).status_code == 404
    client.force_login(UserFactory(username="stranger"))
    assert client.get(_url(project, trace)).status_code == 404
    client.logout()
    assert client.get(_url(project, trace)).status_code == 302


def test_trace_page_escapes_html_in_problem_and_steps(client, annotator, project):
    trace = TraceFactory(
        project=project,
        problem="Evil <script>alert('p')</script> problem",
        steps=["<img src=x onerror=alert(1)> step", "$\\frac{1}{2}$ <script>alert(2)</script>"],
    )
    assignment_next_for_annotator(project=project, annotator=annotator)
    client.force_login(annotator)
    body = client.get(_url(project, trace)).content.decode()
    assert "<script>alert" not in body
    assert "<img src=x" not in body
    assert "&lt;script&gt;alert(&#x27;p&#x27;)&lt;/script&gt;" in body or "&lt;script&gt;alert('p')" in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "<mfrac>" in body


def test_trace_page_carries_only_my_labels(client, annotator, project):
    trace = TraceFactory(project=project, steps=2)
    other = UserFactory(username="peer")
    membership_set(project=project, user=other, role=Membership.Role.ANNOTATOR)
    for user, key in ((annotator, "positive"), (other, "negative")):
        assignment_next_for_annotator(project=project, annotator=user)
        step_labels_set(trace=trace, annotator=user, labels=[LabelInput(0, key, rationale=f"by {user.username}")])
    client.force_login(annotator)
    response = client.get(_url(project, trace))
    html = response.content.decode()
    data = json.loads(html.split('id="workspace-data" type="application/json">')[1].split("</script>")[0])
    assert data["labels"] == {"0": {"category": "positive", "rationale": "by ann", "isUnsure": False}}
    assert "by peer" not in response.content.decode()


def _queries_for_trace_page(client, project, annotator, step_count):
    trace = TraceFactory(project=project, steps=step_count)
    Assignment.objects.filter(annotator=annotator, state=Assignment.State.IN_PROGRESS).update(
        state=Assignment.State.SUBMITTED
    )
    Assignment.objects.create(trace=trace, annotator=annotator, state=Assignment.State.IN_PROGRESS)
    step_labels_set(
        trace=trace, annotator=annotator,
        labels=[LabelInput(i, "positive") for i in range(0, step_count, 2)],
    )
    with CaptureQueriesContext(connection) as queries:
        response = client.get(_url(project, trace))
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="step"') == step_count
    return len(queries)


def test_trace_page_runs_the_same_queries_for_5_and_50_steps(client, annotator, project):
    client.force_login(annotator)
    client.get("/")  # warm the session
    five = _queries_for_trace_page(client, project, annotator, 5)
    fifty = _queries_for_trace_page(client, project, annotator, 50)
    assert five == fifty
    assert fifty <= 10


def test_trace_page_reports_server_time(client, annotator, project):
    trace = TraceFactory(project=project, steps=3)
    assignment_next_for_annotator(project=project, annotator=annotator)
    client.force_login(annotator)
    assert client.get(_url(project, trace))["Server-Timing"].startswith("app;dur=")


def test_first_error_mode_is_passed_to_the_page(client, annotator, project):
    Project.objects.filter(pk=project.pk).update(labeling_mode=Project.LabelingMode.FIRST_ERROR)
    trace = TraceFactory(project=project, steps=3)
    project.refresh_from_db()
    assignment_next_for_annotator(project=project, annotator=annotator)
    client.force_login(annotator)
    body = client.get(_url(project, trace)).content.decode()
    assert '"isFirstErrorMode": true' in body
    assert "first-error mode" in body


def test_a_submitted_trace_opens_read_only(client, annotator, project):
    trace = TraceFactory(project=project, steps=1)
    assignment = assignment_next_for_annotator(project=project, annotator=annotator)
    Assignment.objects.filter(pk=assignment.pk).update(state=Assignment.State.SUBMITTED)
    client.force_login(annotator)
    body = client.get(_url(project, trace)).content.decode()
    assert 'data-testid="readonly-banner"' in body
    assert '"isEditable": false' in body
