"""Label, queue, submit, skip and heartbeat endpoints: success, permission, validation, blind mode."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.models import Assignment, Membership, Project, StepLabel, StepLabelChange
from labeling.services.labels import LabelInput, step_labels_set
from labeling.services.projects import membership_set
from labeling.services.queue import assignment_next_for_annotator
from labeling.services.taxonomies import DEFAULT_CATEGORIES, taxonomy_version_publish_new
from tests.labeling.factories import TraceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def trace(project):
    """Eight steps (the conftest's default has four); `assignment` comes from the conftest."""
    return TraceFactory(project=project, steps=8)


def _label_url(project, trace, index=None):
    base = f"/api/projects/{project.slug}/traces/{trace.pk}/labels/"
    return base if index is None else f"{base}{index}/"


def _submit_url(project, assignment):
    return f"/api/projects/{project.slug}/assignments/{assignment.pk}/submit/"


def test_put_saves_my_label_and_repeating_it_changes_nothing(annotator_client, project, trace, assignment, annotator):
    body = {"category": "negative", "rationale": "  7*8 is 56  ", "is_unsure": True}
    first = annotator_client.put(_label_url(project, trace, 2), body, format="json")
    assert first.status_code == 200, first.json()
    assert first.json()["step_index"] == 2
    assert first.json()["category"] == "negative"
    assert first.json()["polarity"] == -1
    assert first.json()["rationale"] == "7*8 is 56"
    annotator_client.put(_label_url(project, trace, 2), body, format="json")
    label = StepLabel.objects.get(annotator=annotator)
    assert (label.step.index, label.polarity, label.is_unsure) == (2, -1, True)
    assert StepLabelChange.objects.count() == 1


def test_put_runs_a_constant_number_of_queries(annotator_client, project, trace, assignment):
    responses = [
        annotator_client.put(_label_url(project, trace, 0), {"category": "positive"}, format="json")
    ]
    with CaptureQueriesContext(connection) as create:
        responses.append(
            annotator_client.put(_label_url(project, trace, 1), {"category": "positive"}, format="json")
        )
    with CaptureQueriesContext(connection) as update:
        responses.append(
            annotator_client.put(_label_url(project, trace, 1), {"category": "neutral"}, format="json")
        )
    with CaptureQueriesContext(connection) as same:
        responses.append(
            annotator_client.put(_label_url(project, trace, 1), {"category": "neutral"}, format="json")
        )
    # Counts of refused requests would prove nothing: every save must have succeeded.
    assert [r.status_code for r in responses] == [200] * 4
    assert StepLabel.objects.get(step__index=1).category.key == "neutral"
    if connection.vendor == "postgresql":
        # One statement: role, assignment lock, upsert and history (see assignment_labels_upsert_pg).
        assert len(create) == len(update) == len(same) == 1, [q["sql"] for q in create.captured_queries]
        return
    # membership+project, assignment+trace, savepoint, assignment lock, step, existing label,
    # savepoint, upsert, history, 2 releases: the same whether it creates or changes.
    assert len(create) == len(update) <= 11, [q["sql"] for q in create.captured_queries]
    assert len(same) < len(create)


def test_delete_undoes_my_label(annotator_client, project, trace, assignment, annotator):
    annotator_client.put(_label_url(project, trace, 0), {"category": "positive"}, format="json")
    response = annotator_client.delete(_label_url(project, trace, 0))
    assert response.status_code == 204
    assert not StepLabel.objects.filter(annotator=annotator).exists()


def test_unknown_category_and_step_are_refused_by_name(annotator_client, project, trace, assignment):
    bad_category = annotator_client.put(_label_url(project, trace, 0), {"category": "nope"}, format="json")
    assert bad_category.status_code == 400
    assert bad_category.json()["field"] == "category"
    bad_step = annotator_client.put(_label_url(project, trace, 99), {"category": "positive"}, format="json")
    assert bad_step.status_code == 404
    assert "no step 99" in bad_step.json()["detail"]
    missing = annotator_client.put(_label_url(project, trace, 0), {}, format="json")
    assert missing.status_code == 400 and "category" in missing.json()
    assert not StepLabel.objects.exists()


def test_labels_need_my_assignment(api_client, project, trace, assignment):
    other = UserFactory(username="no-assignment")
    membership_set(project=project, user=other, role=Membership.Role.ANNOTATOR)
    api_client.force_authenticate(other)
    response = api_client.put(_label_url(project, trace, 0), {"category": "positive"}, format="json")
    assert response.status_code == 403
    assert "not assigned to you" in response.json()["detail"]


def test_researchers_cannot_label_and_strangers_do_not_see_the_project(
    researcher_client, api_client, user, project, trace
):
    url = _label_url(project, trace, 0)
    assert researcher_client.put(url, {"category": "positive"}, format="json").status_code == 403
    api_client.force_authenticate(user)
    assert api_client.put(url, {"category": "positive"}, format="json").status_code == 404
    assert api_client.post(f"/api/projects/{project.slug}/queue/next/").status_code == 404
    anonymous = type(api_client)()
    assert anonymous.put(url, {"category": "positive"}, format="json").status_code in (401, 403)


def test_labels_are_refused_after_submit(annotator_client, project, trace, assignment):
    annotator_client.put(
        _label_url(project, trace),
        {"labels": [{"step_index": i, "category": "positive"} for i in range(8)]},
        format="json",
    )
    submit = annotator_client.post(_submit_url(project, assignment), {}, format="json")
    assert submit.status_code == 200, submit.json()
    late = annotator_client.put(_label_url(project, trace, 0), {"category": "negative"}, format="json")
    assert late.status_code == 409
    assert annotator_client.delete(_label_url(project, trace, 0)).status_code == 409


def test_bulk_put_saves_all_labels_of_a_trace_in_one_request(annotator_client, project, trace, assignment, annotator):
    two = {"labels": [{"step_index": i, "category": "positive"} for i in range(2)]}
    with CaptureQueriesContext(connection) as few:
        annotator_client.put(_label_url(project, trace), two, format="json")
    StepLabel.objects.all().delete()
    body = {"labels": [{"step_index": i, "category": "positive" if i % 3 else "neutral"} for i in range(8)]}
    with CaptureQueriesContext(connection) as queries:
        response = annotator_client.put(_label_url(project, trace), body, format="json")
    assert response.status_code == 200, response.json()
    assert [x["step_index"] for x in response.json()["labels"]] == list(range(8))
    assert StepLabel.objects.filter(annotator=annotator).count() == 8
    # Two labels or eight: the same queries (the first request also loaded the taxonomy).
    assert len(queries) <= len(few) <= 12, [q["sql"] for q in queries.captured_queries]
    # Changing all eight costs no more queries than creating them.
    body["labels"] = [{**x, "category": "negative", "rationale": "why"} for x in body["labels"]]
    with CaptureQueriesContext(connection) as again:
        annotator_client.put(_label_url(project, trace), body, format="json")
    assert len(again) <= len(queries)
    assert set(StepLabel.objects.values_list("polarity", flat=True)) == {-1}


def test_bulk_put_refuses_duplicates_and_bad_items_with_their_position(annotator_client, project, trace, assignment):
    dup = annotator_client.put(
        _label_url(project, trace),
        {"labels": [{"step_index": 1, "category": "positive"}, {"step_index": 1, "category": "neutral"}]},
        format="json",
    )
    assert dup.status_code == 400
    bad = annotator_client.put(
        _label_url(project, trace),
        {"labels": [{"step_index": 0, "category": "positive"}, {"step_index": -1}]},
        format="json",
    )
    assert bad.status_code == 400
    assert "labels[1]" in str(bad.json())
    assert not StepLabel.objects.exists()


def test_get_returns_only_my_labels_in_blind_mode(annotator_client, project, trace, assignment, annotator):
    peer = UserFactory(username="peer")
    membership_set(project=project, user=peer, role=Membership.Role.ANNOTATOR)
    assignment_next_for_annotator(project=project, annotator=peer)
    step_labels_set(trace=trace, annotator=annotator, labels=[LabelInput(0, "positive")])
    step_labels_set(trace=trace, annotator=peer, labels=[LabelInput(0, "negative", rationale="peer")])
    mine = annotator_client.get(_label_url(project, trace))
    assert mine.status_code == 200
    assert [(x["annotator"], x["category"]) for x in mine.json()] == [("ann", "positive")]
    assert annotator_client.get(_label_url(project, trace) + "?scope=all").status_code == 403


def test_get_all_labels_for_the_lead_or_when_not_blind(
    annotator_client, lead_client, project, trace, assignment, annotator
):
    peer = UserFactory(username="peer")
    membership_set(project=project, user=peer, role=Membership.Role.ANNOTATOR)
    step_labels_set(trace=trace, annotator=annotator, labels=[LabelInput(0, "positive")])
    step_labels_set(trace=trace, annotator=peer, labels=[LabelInput(0, "negative")])
    assert len(lead_client.get(_label_url(project, trace) + "?scope=all").json()) == 2
    Project.objects.filter(pk=project.pk).update(is_blind=False)
    assert len(annotator_client.get(_label_url(project, trace) + "?scope=all").json()) == 2


def test_queue_next_returns_the_trace_url_then_204_when_done(annotator_client, project, annotator):
    trace = TraceFactory(project=project, steps=1)
    response = annotator_client.post(f"/api/projects/{project.slug}/queue/next/")
    assert response.status_code == 200
    assert response.json()["trace_id"] == trace.pk
    assert response.json()["url"] == f"/projects/{project.slug}/traces/{trace.pk}/"
    Assignment.objects.update(state=Assignment.State.SUBMITTED)
    assert annotator_client.post(f"/api/projects/{project.slug}/queue/next/").status_code == 204


def test_submit_names_missing_steps_and_rationales(annotator_client, project, annotator):
    taxonomy_version_publish_new(
        project=project,
        categories=[
            *DEFAULT_CATEGORIES,
            {"key": "calc", "name": "Calculation error", "polarity": -1, "hotkey": "c",
             "parent": "negative", "is_rationale_required": True},
        ],
    )
    trace = TraceFactory(project=project, steps=4)
    assignment = assignment_next_for_annotator(project=project, annotator=annotator)
    step_labels_set(trace=trace, annotator=annotator, labels=[LabelInput(0, "positive"), LabelInput(2, "calc")])
    response = annotator_client.post(_submit_url(project, assignment), {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "submission_incomplete"
    assert body["missing_steps"] == [1, 3]
    assert body["missing_rationales"] == [2]
    assert "label steps 2, 4" in body["detail"]
    assignment.refresh_from_db()
    assert assignment.state == Assignment.State.IN_PROGRESS


def test_submit_in_first_error_mode_needs_labels_up_to_the_first_negative(annotator_client, project, annotator):
    Project.objects.filter(pk=project.pk).update(labeling_mode=Project.LabelingMode.FIRST_ERROR)
    trace = TraceFactory(project=project, steps=5)
    assignment = assignment_next_for_annotator(project=project, annotator=annotator)
    step_labels_set(
        trace=trace, annotator=annotator,
        labels=[LabelInput(0, "positive"), LabelInput(1, "negative"), LabelInput(3, "positive")],
    )
    response = annotator_client.post(
        f"/api/projects/{project.slug}/assignments/{assignment.pk}/submit/", {"seconds": 12.5}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "submitted"
    # The label made after the first error is recorded as unlabeled, not guessed.
    assert sorted(StepLabel.objects.values_list("step__index", flat=True)) == [0, 1]
    assignment.refresh_from_db()
    assert assignment.seconds_spent == pytest.approx(12.5)


def test_heartbeat_accumulates_time_and_is_clamped(annotator_client, project, trace, assignment):
    url = f"/api/projects/{project.slug}/assignments/{assignment.pk}/heartbeat/"
    assert annotator_client.post(url, {"seconds": 30}, format="json").status_code == 204
    assert annotator_client.post(url, {"seconds": 3000}, format="json").status_code == 204
    assert annotator_client.post(url, {"seconds": -1}, format="json").status_code == 400
    assignment.refresh_from_db()
    assert assignment.seconds_spent == pytest.approx(150)


def test_submit_without_heartbeats_records_wall_time(annotator_client, project, annotator):
    trace = TraceFactory(project=project, steps=1)
    assignment = assignment_next_for_annotator(project=project, annotator=annotator)
    step_labels_set(trace=trace, annotator=annotator, labels=[LabelInput(0, "positive")])
    response = annotator_client.post(_submit_url(project, assignment), {}, format="json")
    assert response.status_code == 200
    assignment.refresh_from_db()
    assert assignment.seconds_spent > 0


def test_skip_needs_a_known_reason_and_a_note_for_other(annotator_client, project, trace, assignment, annotator):
    url = f"/api/projects/{project.slug}/assignments/{assignment.pk}/skip/"
    assert annotator_client.post(url, {"reason": "bored"}, format="json").status_code == 400
    other = annotator_client.post(url, {"reason": "other"}, format="json")
    assert other.status_code == 400 and other.json()["field"] == "note"
    step_labels_set(trace=trace, annotator=annotator, labels=[LabelInput(0, "positive")])
    ok = annotator_client.post(url, {"reason": "bad_problem", "note": "no unique answer"}, format="json")
    assert ok.status_code == 200
    assignment.refresh_from_db()
    assert (assignment.state, assignment.skip_reason) == ("skipped", "bad_problem")
    assert assignment.skip_note == "no unique answer"
    assert not StepLabel.objects.filter(annotator=annotator).exists()


def test_someone_elses_assignment_is_not_found(api_client, project, trace, assignment):
    peer = UserFactory(username="peer2")
    membership_set(project=project, user=peer, role=Membership.Role.ANNOTATOR)
    api_client.force_authenticate(peer)
    url = f"/api/projects/{project.slug}/assignments/{assignment.pk}/submit/"
    assert api_client.post(url, {}, format="json").status_code == 404


def test_lead_may_label_too(lead_client, lead, project, trace):
    assignment = assignment_next_for_annotator(project=project, annotator=lead)
    response = lead_client.put(_label_url(project, trace, 0), {"category": "positive"}, format="json")
    assert response.status_code == 200
    assert assignment.trace_id == trace.pk


def test_workspace_endpoints_are_in_the_openapi_schema(admin_client):
    schema = admin_client.get("/api/schema/").content.decode()
    for path in (
        "/api/projects/{slug}/traces/{trace_id}/labels/{step_index}/",
        "/api/projects/{slug}/traces/{trace_id}/labels/",
        "/api/projects/{slug}/queue/next/",
        "/api/projects/{slug}/assignments/{assignment_id}/submit/",
        "/api/projects/{slug}/assignments/{assignment_id}/skip/",
        "/api/projects/{slug}/assignments/{assignment_id}/heartbeat/",
    ):
        assert path in schema
    assert "step_label_set" in schema and "trace_labels_set" in schema
