"""assignment_labels_upsert_pg: the one-statement label save on PostgreSQL (ON CONFLICT + CTE).

It must keep every guarantee of the ORM path: idempotent, history of every change, role and
assignment checks, all-or-nothing, and no lost or failed save under concurrency.
"""
import threading

import pytest
from django.db import connection, connections

from labeling.models import Assignment, Membership, StepLabel, StepLabelChange
from labeling.services.assignments import assignment_labels_upsert_pg
from labeling.services.labels import LabelInput
from labeling.services.projects import membership_set, project_create
from tests.labeling.factories import TraceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement save is PostgreSQL only (SQLite uses the ORM path)")


def _save(project, user, trace, labels):
    return assignment_labels_upsert_pg(
        project_slug=project.slug, annotator=user, trace_id=trace.pk, labels=labels
    )


def test_repeating_a_save_changes_nothing_and_keeps_one_history_row(
    project, annotator, trace, assignment
):
    labels = [
        LabelInput(0, "positive"),
        LabelInput(2, "negative", rationale="7*8 is 56", is_unsure=True),
    ]
    first = _save(project, annotator, trace, labels)
    again = _save(project, annotator, trace, labels)
    assert [(x.step_index, x.category_key, x.polarity) for x in first] == [
        (0, "positive", 1), (2, "negative", -1)
    ]
    assert [x.updated_at for x in again] == [x.updated_at for x in first]
    rows = StepLabel.objects.filter(annotator=annotator).order_by("step__index")
    assert [(r.step.index, r.polarity, r.rationale, r.is_unsure, r.trace_id) for r in rows] == [
        (0, 1, "", False, trace.pk), (2, -1, "7*8 is 56", True, trace.pk)
    ]
    assert list(StepLabelChange.objects.values_list("action", flat=True)) == ["created", "created"]


def test_each_change_is_kept_in_history(project, annotator, trace, assignment):
    _save(project, annotator, trace, [LabelInput(1, "positive")])
    _save(project, annotator, trace, [LabelInput(1, "positive", rationale="sure")])
    _save(project, annotator, trace, [LabelInput(1, "neutral", rationale="sure")])
    history = list(
        StepLabelChange.objects.order_by("id")
        .values_list("action", "polarity", "rationale", "step__index")
    )
    assert history == [
        ("created", 1, "", 1), ("updated", 1, "sure", 1), ("updated", 0, "sure", 1)
    ]
    label = StepLabel.objects.get(annotator=annotator)
    assert (label.polarity, label.rationale, label.category.key) == (0, "sure", "neutral")


def test_it_runs_one_query(project, annotator, trace, assignment, django_assert_num_queries):
    with django_assert_num_queries(1):
        _save(project, annotator, trace, [LabelInput(i, "positive") for i in range(4)])
    with django_assert_num_queries(1):
        _save(project, annotator, trace, [LabelInput(i, "negative") for i in range(4)])


def test_refusals_write_nothing(project, annotator, researcher, trace, assignment):
    stranger = UserFactory(username="stranger")
    cases = [
        (annotator, [LabelInput(9, "positive")]),  # no such step
        (annotator, [LabelInput(0, "nonsense")]),  # not in the taxonomy
        (annotator, [LabelInput(0, "positive"), LabelInput(1, "nonsense")]),  # all or nothing
        (researcher, [LabelInput(0, "positive")]),  # role may not label
        (stranger, [LabelInput(0, "positive")]),  # not a member
    ]
    for user, labels in cases:
        assert _save(project, user, trace, labels) is None, (user, labels)
    other_lead = UserFactory(username="other-lead")
    other_project = project_create(name="Other", slug="other", lead=other_lead)
    membership_set(project=other_project, user=annotator, role=Membership.Role.ANNOTATOR)
    assert assignment_labels_upsert_pg(  # the trace is not in that project
        project_slug="other", annotator=annotator, trace_id=trace.pk,
        labels=[LabelInput(0, "positive")],
    ) is None
    assert not StepLabel.objects.exists() and not StepLabelChange.objects.exists()


def test_no_assignment_or_a_closed_one_is_refused(project, annotator, trace, assignment):
    peer = UserFactory(username="peer")
    membership_set(project=project, user=peer, role=Membership.Role.ANNOTATOR)
    assert _save(project, peer, trace, [LabelInput(0, "positive")]) is None
    _save(project, annotator, trace, [LabelInput(0, "positive")])
    for state in (Assignment.State.SUBMITTED, Assignment.State.SKIPPED):
        Assignment.objects.filter(pk=assignment.pk).update(state=state)
        assert _save(project, annotator, trace, [LabelInput(0, "negative")]) is None
    assert StepLabel.objects.get().polarity == 1
    assert StepLabelChange.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_saves_of_the_same_step_keep_one_label_and_both_changes():
    lead = UserFactory(username="race-lead")
    project = project_create(name="Race", slug="label-race", lead=lead)
    annotator = UserFactory(username="race-ann")
    membership_set(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    errors: list[BaseException] = []
    for round_ in range(5):
        trace = TraceFactory(project=project, steps=2)
        Assignment.objects.create(
            trace=trace, annotator=annotator, state=Assignment.State.IN_PROGRESS
        )
        barrier = threading.Barrier(2)

        def save(key, barrier=barrier, trace=trace):
            try:
                barrier.wait()
                assert _save(project, annotator, trace, [LabelInput(0, key)]) is not None
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=save, args=(key,)) for key in ("positive", "negative")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        label = StepLabel.objects.get(trace=trace)
        history = list(
            StepLabelChange.objects.filter(step__trace=trace)
            .order_by("id")
            .values_list("action", "polarity")
        )
        assert [action for action, _ in history] == ["created", "updated"], round_
        # The stored label is the last change recorded.
        assert history[-1][1] == label.polarity


def test_each_change_bumps_the_label_revision_and_a_repeat_does_not(
    project, annotator, trace, assignment
):
    """The labels fingerprint sums revisions: the one-statement save must bump them too."""
    _save(project, annotator, trace, [LabelInput(0, "positive")])
    _save(project, annotator, trace, [LabelInput(0, "negative")])
    _save(project, annotator, trace, [LabelInput(0, "negative")])
    _save(project, annotator, trace, [LabelInput(0, "negative", rationale="why")])
    assert StepLabel.objects.get(annotator=annotator).revision == 2
