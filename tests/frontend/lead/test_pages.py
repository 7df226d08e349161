"""Lead pages: content rendered and escaped (who may open each page: test_permissions.py; query
counts: test_query_counts.py)."""
import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_guidelines_preview_is_lead_only_and_sanitised(project, lead, annotator, researcher, user):
    url = reverse("lead:guidelines-preview", args=[project.slug])
    text = "# Rules\n\n**Bold** <script>alert(1)</script>"
    for who, status in [(annotator, 403), (researcher, 403), (user, 404)]:
        assert _client(who).post(url, {"text": text}).status_code == status
    html = _client(lead).post(url, {"text": text}).json()["html"]
    assert "<strong>Bold</strong>" in html and "<script>" not in html


def test_settings_page_shows_the_guidelines_rendered_and_escaped(project, lead):
    project.guidelines = "Label *carefully* <img src=x onerror=alert(1)>"
    project.name = "<b>Maths</b>"
    project.save()
    body = _client(lead).get(reverse("lead:settings", args=[project.slug])).content.decode()
    assert "<em>carefully</em>" in body
    assert "<img src=x onerror" not in body and 'onerror="' not in body
    assert "&lt;b&gt;Maths&lt;/b&gt;" in body


def test_new_project_page_is_for_staff_and_leads(project, lead, user):
    url = reverse("lead-new:project")
    assert _client(user).get(url).status_code == 403
    assert _client(lead).get(url).status_code == 200


def _disputed(project, annotator, n_traces=3):
    from labeling.services.labels import LabelInput, step_labels_set
    from labeling.services.projects import membership_set
    from tests.labeling.factories import TraceFactory, UserFactory
    other = UserFactory(username="ann2")
    membership_set(project=project, user=other, role="annotator")
    traces = []
    for i in range(n_traces):
        trace = TraceFactory(project=project, steps=3, problem=f"<b>Problem</b> {i}")
        step_labels_set(trace=trace, annotator=annotator, labels=[
            LabelInput(0, "positive"), LabelInput(1, "neutral", rationale="<i>hmm</i>")])
        step_labels_set(trace=trace, annotator=other, labels=[
            LabelInput(0, "negative"), LabelInput(1, "negative")])
        traces.append(trace)
    return traces


def test_adjudication_trace_page_is_for_leads_only(project, lead, annotator, researcher, user):
    trace = _disputed(project, annotator, 1)[0]
    url = reverse("lead:adjudication-trace", args=[project.slug, trace.pk])
    assert _client(annotator).get(url).status_code == 403
    assert _client(researcher).get(url).status_code == 403
    assert _client(user).get(url).status_code == 404
    body = _client(lead).get(url).content.decode()
    assert "&lt;i&gt;hmm&lt;/i&gt;" in body and "<i>hmm</i>" not in body
    missing = reverse("lead:adjudication-trace", args=[project.slug, 99999])
    assert _client(lead).get(missing).status_code == 404


def test_adjudication_list_shows_every_disputed_trace_escaped(project, lead, annotator):
    _disputed(project, annotator, 12)
    body = _client(lead).get(reverse("lead:adjudication", args=[project.slug])).content.decode()
    assert body.count('data-testid="disputed-row"') == 12
    assert "&lt;b&gt;Problem&lt;/b&gt;" in body


def test_adjudication_list_shows_problem_snippets_rendered_and_escaped(project, lead, annotator):
    """Math shows as MathML and `\\$` as `$`, never as LaTeX source; HTML in a problem is text."""
    first, second = _disputed(project, annotator, 2)
    first.problem = r"A pen costs \$5 at 10\% off. Solve $\frac{x}{2} = 5$ for $x$."
    first.save(update_fields=["problem"])
    second.problem = "<script>alert(1)</script> <img src=x onerror=alert(2)> $x^2$"
    second.save(update_fields=["problem"])
    body = _client(lead).get(reverse("lead:adjudication", args=[project.slug])).content.decode()
    assert "A pen costs $5 at 10% off. Solve <math" in body and "<mfrac>" in body
    assert r"\$5" not in body and r"\%" not in body and r"\frac" not in body and "$x$" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt; <math" in body
    assert "<script>alert(1)" not in body and "<img src=x" not in body


def test_import_history_fragment_lists_recent_imports_escaped(project, lead):
    """The list the settings page swaps in when an import ends: newest first, names escaped."""
    from labeling.models import ImportJob
    url = reverse("lead:import-history", args=[project.slug])
    assert 'data-testid="import-history-empty"' in _client(lead).get(url).content.decode()
    ImportJob.objects.create(project=project, filename="first.jsonl", created_by=lead,
                             state="succeeded", result={"traces_added": 3})
    ImportJob.objects.create(project=project, filename="<img src=x onerror=alert(1)>.jsonl",
                             created_by=lead, state="failed")
    body = _client(lead).get(url).content.decode()
    assert "<html" not in body and body.count("<li>") == 2
    assert body.index("&lt;img src=x onerror=alert(1)&gt;.jsonl") < body.index("first.jsonl")
    assert "+3 traces" in body and "<img src=x" not in body
