"""GET /api/projects/<slug>/agreement/: roles, JSON, filters, cache, background computation."""
import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from labeling.models import AgreementReport, Membership, User
from labeling.services import agreement as agreement_service
from labeling.services.labels import LabelInput, step_labels_set
from labeling.services.projects import membership_set, source_annotator_get_or_create
from labeling.services.taxonomies import DEFAULT_CATEGORIES, taxonomy_version_publish_new
from tests.labeling.agreement_setup import annotators, trace_with_labels
from tests.labeling.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("labeling:agreement-report", kwargs={"slug": "demo-math"})
KEYS = {
    "percent_agreement", "cohen_kappa_mean", "cohen_kappa_pairs", "fleiss_kappa",
    "krippendorff_alpha_nominal", "krippendorff_alpha_ordinal", "first_error",
    "per_annotator", "per_category", "n_items", "n_labels", "n_annotators",
}


@pytest.fixture
def labeled(project):
    ann, bob = annotators(project, "ann", "bob")
    trace_with_labels(
        project,
        {ann: ["positive", "negative", "negative"], bob: ["positive", "neutral", "negative"]},
        metadata={"split": "test"},
    )
    trace_with_labels(
        project, {ann: ["neutral", "positive"], bob: ["neutral", "negative"]},
        metadata={"split": "train"},
    )
    return project


@pytest.fixture
def compute_calls(monkeypatch):
    """Count how often the report is actually computed from labels."""
    calls = []
    real = agreement_service.agreement_report

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(agreement_service, "agreement_report", counting)
    return calls


def test_lead_gets_every_figure(labeled, lead_client):
    response = lead_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert KEYS <= body.keys()
    assert body["n_labels"] == 10 and body["n_annotators"] == 2
    assert body["cohen_kappa_pairs"][0]["n_items"] == 5


def test_researcher_gets_the_same_json_as_the_command(labeled, researcher_client):
    body = researcher_client.get(URL, {"bootstrap": 30, "seed": 2}).json()
    out = io.StringIO()
    call_command("agreement", "demo-math", "--json", "--bootstrap", "30", "--seed", "2", stdout=out)
    assert body == json.loads(out.getvalue())
    assert "ci_low" in body["fleiss_kappa"]


def test_annotator_is_forbidden(labeled, annotator_client):
    assert annotator_client.get(URL).status_code == 403
    assert not AgreementReport.objects.exists()


def test_non_member_gets_not_found(labeled, user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    assert client.get(URL).status_code == 404


def test_anonymous_is_refused(labeled, api_client):
    assert api_client.get(URL).status_code in (401, 403)


@pytest.mark.parametrize(
    "query, field",
    [
        ({"bootstrap": -1}, "bootstrap"),
        ({"bootstrap": "many"}, "bootstrap"),
        ({"metadata": "nocolon"}, "metadata"),
        ({"metadata": "a__contains:x"}, "metadata"),
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"taxonomy_version": 0}, "taxonomy_version"),
    ],
)
def test_bad_query_is_refused_naming_the_field_and_stores_nothing(
    labeled, lead_client, query, field
):
    response = lead_client.get(URL, query)
    assert response.status_code == 400
    assert field in response.json()
    assert not AgreementReport.objects.exists()


def test_second_request_is_served_from_the_cache(labeled, lead_client, compute_calls):
    first = lead_client.get(URL).json()
    second = lead_client.get(URL).json()
    assert first == second
    assert len(compute_calls) == 1


def test_changing_a_label_recomputes(labeled, lead_client, compute_calls):
    before = lead_client.get(URL).json()
    bob = labeled.traces.first().step_labels.get(annotator__username="bob", step__index=1)
    trace = bob.trace
    step_labels_set(
        trace=trace,
        annotator=bob.annotator,
        labels=[LabelInput(step_index=1, category_key="negative")],
    )
    after = lead_client.get(URL).json()
    assert len(compute_calls) == 2
    assert after["percent_agreement"]["value"] > before["percent_agreement"]["value"]


def test_different_parameters_are_cached_separately(labeled, lead_client, compute_calls):
    lead_client.get(URL)
    lead_client.get(URL, {"bootstrap": 20})
    lead_client.get(URL, {"bootstrap": 20})
    assert len(compute_calls) == 2
    assert AgreementReport.objects.count() == 2


def test_query_count_does_not_grow_with_the_data(project, lead_client, django_assert_num_queries):
    ann, bob = annotators(project, "ann", "bob")
    trace_with_labels(project, {ann: ["positive"], bob: ["negative"]})
    # First call computes, second is a cache hit; count both.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert lead_client.get(URL).status_code == 200
    cy, dee = annotators(project, "cy", "dee")
    for _ in range(6):
        trace_with_labels(
            project,
            {u: ["positive", "negative", "neutral", "positive"] for u in (ann, bob, cy, dee)},
        )
    with django_assert_num_queries(len(small)):
        assert lead_client.get(URL, {"bootstrap": 10}).status_code == 200


def test_cache_hit_uses_few_queries(labeled, lead_client, django_assert_max_num_queries):
    lead_client.get(URL)
    # session/user, project, role, fingerprint (2), stored report
    with django_assert_max_num_queries(6):
        assert lead_client.get(URL).status_code == 200


def test_large_project_is_computed_by_the_task(
    labeled, lead_client, settings, django_capture_on_commit_callbacks
):
    settings.AGREEMENT_ASYNC_LABEL_THRESHOLD = 5
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = lead_client.get(URL)
    assert response.status_code == 202
    body = response.json()
    assert body["state"] == "pending"
    assert body["task"] == "labeling.tasks.agreement.agreement_report_compute_task"
    assert len(callbacks) == 1
    report = AgreementReport.objects.get(pk=body["report_id"])
    assert report.result is None
    # Asking again while pending schedules nothing new.
    with django_capture_on_commit_callbacks(execute=False) as again:
        assert lead_client.get(URL).status_code == 202
    assert again == []
    callbacks[0]()  # Celery is eager here: the task runs now.
    report.refresh_from_db()
    assert report.state == AgreementReport.State.SUCCEEDED
    response = lead_client.get(URL)
    assert response.status_code == 200
    assert response.json()["n_labels"] == 10


def _fail_once(lead_client, callbacks_capture, monkeypatch) -> int:
    """Schedule the report, run its task with the computation broken; return the report id."""
    with callbacks_capture(execute=False) as callbacks:
        report_id = lead_client.get(URL).json()["report_id"]
    monkeypatch.setattr(agreement_service, "agreement_report", _broken)
    with pytest.raises(RuntimeError):
        callbacks[0]()
    monkeypatch.undo()
    return report_id


def _broken(*args, **kwargs):
    raise RuntimeError("boom")


def test_failed_report_is_shown_not_requeued_while_labels_are_unchanged(
    labeled, lead_client, settings, django_capture_on_commit_callbacks, monkeypatch
):
    """A failure stays visible (state failed, the error in detail) and queues no new task on
    each read: the dashboard's poll would otherwise re-queue the failing task forever."""
    settings.AGREEMENT_ASYNC_LABEL_THRESHOLD = 5
    report_id = _fail_once(lead_client, django_capture_on_commit_callbacks, monkeypatch)
    report = AgreementReport.objects.get(pk=report_id)
    assert report.state == AgreementReport.State.FAILED
    assert "boom" in report.error
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = lead_client.get(URL)
    assert response.status_code == 202
    assert response.json()["state"] == "failed"
    assert "boom" in response.json()["detail"]
    assert queued == []
    assert AgreementReport.objects.get(pk=report_id).state == AgreementReport.State.FAILED


def test_failed_report_is_retried_after_the_back_off(
    labeled, lead_client, settings, django_capture_on_commit_callbacks, monkeypatch
):
    settings.AGREEMENT_ASYNC_LABEL_THRESHOLD = 5
    report_id = _fail_once(lead_client, django_capture_on_commit_callbacks, monkeypatch)
    AgreementReport.objects.filter(pk=report_id).update(
        finished_at=timezone.now() - agreement_service.RETRY_FAILED_AFTER - timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert lead_client.get(URL).status_code == 202
    assert AgreementReport.objects.get(pk=report_id).state == AgreementReport.State.SUCCEEDED


def test_failed_report_is_retried_when_labels_change(
    labeled, lead_client, settings, django_capture_on_commit_callbacks, monkeypatch
):
    settings.AGREEMENT_ASYNC_LABEL_THRESHOLD = 5
    report_id = _fail_once(lead_client, django_capture_on_commit_callbacks, monkeypatch)
    ann = User.objects.get(username="ann")
    trace = labeled.traces.order_by("id").first()
    step_labels_set(trace=trace, annotator=ann,
                    labels=[LabelInput(step_index=0, category_key="neutral")])
    with django_capture_on_commit_callbacks(execute=True):
        assert lead_client.get(URL).status_code == 202
    assert AgreementReport.objects.get(pk=report_id).state == AgreementReport.State.SUCCEEDED


def test_annotator_filter(labeled, lead_client):
    body = lead_client.get(URL, {"annotators": "ann"}).json()
    assert body["n_annotators"] == 1
    assert "only one annotator" in body["fleiss_kappa"]["reason"]


def test_metadata_filter_keeps_matching_traces(labeled, lead_client):
    body = lead_client.get(URL, {"metadata": "split:test"}).json()
    assert body["n_traces"] == 1 and body["n_labels"] == 6


def test_date_filter(labeled, lead_client):
    assert lead_client.get(URL, {"until": "2000-01-01T00:00:00Z"}).json()["n_labels"] == 0
    assert lead_client.get(URL, {"since": "2000-01-01"}).json()["n_labels"] == 10


def test_source_labels_need_include_sources(labeled, lead_client):
    source = source_annotator_get_or_create(source="math-shepherd")
    trace_with_labels(labeled, {source: ["positive", "negative"]})
    assert lead_client.get(URL).json()["n_annotators"] == 2
    body = lead_client.get(URL, {"include_sources": "true"}).json()
    assert body["n_annotators"] == 3


def test_taxonomy_version_filter(labeled, lead_client, lead):
    taxonomy_version_publish_new(project=labeled, categories=DEFAULT_CATEGORIES, published_by=lead)
    labeled.refresh_from_db()
    ann, bob = annotators(labeled, "ann", "bob")
    trace_with_labels(labeled, {ann: ["positive"], bob: ["positive"]})
    assert lead_client.get(URL).json()["n_labels"] == 12
    assert lead_client.get(URL, {"taxonomy_version": 1}).json()["n_labels"] == 10
    v2 = lead_client.get(URL, {"taxonomy_version": 2}).json()
    assert v2["n_labels"] == 2
    assert v2["categories"] == ["positive", "neutral", "negative"]


def test_gold_labels_feed_per_annotator_gold_agreement(labeled, lead_client):
    from labeling.models import Category, GoldLabel

    trace = labeled.traces.order_by("id").first()
    negative = Category.objects.get(version=labeled.taxonomy_version, key="negative")
    for step in trace.steps.all():
        GoldLabel.objects.create(
            step=step, trace=trace, category=negative, polarity=-1, method="lead"
        )
    body = lead_client.get(URL).json()
    rows = {r["annotator"]: r for r in body["per_annotator"]}
    assert rows["ann"]["gold"]["n_items"] == 3
    assert rows["ann"]["gold"]["agreement"]["value"] == pytest.approx(2 / 3)
    assert rows["bob"]["gold"]["agreement"]["value"] == pytest.approx(1 / 3)


def test_schema_documents_the_endpoint(lead_client):
    lead_client.force_authenticate(UserFactory(username="admin", is_staff=True))
    response = lead_client.get(reverse("schema"), {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    op = schema["paths"]["/api/projects/{slug}/agreement/"]["get"]
    assert {"200", "202"} <= set(op["responses"])
    names = {p["name"] for p in op["parameters"]}
    assert {"bootstrap", "seed", "include_sources", "metadata"} <= names


def test_researcher_role_change_to_annotator_loses_access(labeled, researcher, researcher_client):
    assert researcher_client.get(URL).status_code == 200
    membership_set(project=labeled, user=researcher, role=Membership.Role.ANNOTATOR)
    assert researcher_client.get(URL).status_code == 403


def test_metadata_filter_compares_numbers_as_text(project, lead_client):
    ann, bob = annotators(project, "ann", "bob")
    trace_with_labels(project, {ann: ["positive"], bob: ["positive"]}, metadata={"level": 3})
    trace_with_labels(project, {ann: ["negative"], bob: ["positive"]}, metadata={"level": 5})
    assert lead_client.get(URL, {"metadata": "level:3"}).json()["n_labels"] == 2


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_computes_a_large_project_in_the_background(
    celery_worker_process, project, lead_client, settings
):
    import time

    settings.AGREEMENT_ASYNC_LABEL_THRESHOLD = 3
    ann, bob = annotators(project, "ann", "bob")
    trace_with_labels(project, {ann: ["positive", "negative"], bob: ["positive", "neutral"]})
    response = lead_client.get(URL, {"bootstrap": 20})
    assert response.status_code == 202
    report = AgreementReport.objects.get(pk=response.json()["report_id"])
    deadline = time.monotonic() + 60
    while report.state not in ("succeeded", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        report.refresh_from_db()
    assert report.state == "succeeded", report.error
    body = lead_client.get(URL, {"bootstrap": 20}).json()
    assert body["n_labels"] == 4
    assert body["percent_agreement"]["value"] == 0.5
    assert "ci_low" in body["percent_agreement"]


def test_report_stuck_in_pending_is_queued_again(
    labeled, lead_client, settings, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    settings.AGREEMENT_ASYNC_LABEL_THRESHOLD = 5
    with django_capture_on_commit_callbacks(execute=False):
        report_id = lead_client.get(URL).json()["report_id"]
    AgreementReport.objects.filter(pk=report_id).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert lead_client.get(URL).status_code == 202
    assert len(callbacks) == 1
    report = AgreementReport.objects.get(pk=report_id)
    assert report.state == AgreementReport.State.SUCCEEDED
    assert timezone.now() - report.created_at < timedelta(minutes=1)
