"""The queue: in-progress first, overlap never exceeded, never the same trace twice, order."""
import threading

import pytest
from django.db import connection, connections

from labeling.models import Assignment, Membership, Project
from labeling.services.assignments import assignment_skip
from labeling.services.projects import membership_set
from labeling.services.queue import assignment_next_for_annotator
from tests.labeling.factories import TraceFactory, UserFactory

pytestmark = pytest.mark.django_db


def _annotators(project, n):
    users = [UserFactory(username=f"queue-ann-{i}") for i in range(n)]
    for u in users:
        membership_set(project=project, user=u, role=Membership.Role.ANNOTATOR)
    return users


def test_in_progress_trace_is_returned_again(project, annotator):
    TraceFactory.create_batch(3, project=project, steps=2)
    first = assignment_next_for_annotator(project=project, annotator=annotator)
    again = assignment_next_for_annotator(project=project, annotator=annotator)
    assert first.pk == again.pk
    assert first.state == Assignment.State.IN_PROGRESS
    assert first.started_at is not None


def test_overlap_is_never_exceeded(project):
    project.overlap = 2
    project.save()
    traces = TraceFactory.create_batch(2, project=project, steps=1)
    users = _annotators(project, 5)
    got = []
    for user in users:
        assignment = assignment_next_for_annotator(project=project, annotator=user)
        if assignment is not None:
            got.append(assignment.trace_id)
            Assignment.objects.filter(pk=assignment.pk).update(state=Assignment.State.SUBMITTED)
    assert sorted(got) == sorted([traces[0].pk, traces[0].pk, traces[1].pk, traces[1].pk])


def test_the_same_trace_is_never_given_twice_to_one_annotator(project, annotator):
    TraceFactory.create_batch(3, project=project, steps=1)
    seen = []
    while (assignment := assignment_next_for_annotator(project=project, annotator=annotator)):
        seen.append(assignment.trace_id)
        Assignment.objects.filter(pk=assignment.pk).update(state=Assignment.State.SUBMITTED)
    assert len(seen) == 3 == len(set(seen))


def test_a_skipped_trace_frees_its_slot_but_never_returns_to_the_skipper(project):
    project.overlap = 1
    project.save()
    trace = TraceFactory(project=project, steps=1)
    skipper, other = _annotators(project, 2)
    assignment = assignment_next_for_annotator(project=project, annotator=skipper)
    assert assignment_next_for_annotator(project=project, annotator=other) is None
    assignment_skip(assignment=assignment, reason="cannot_judge")
    assert assignment_next_for_annotator(project=project, annotator=skipper) is None
    assert assignment_next_for_annotator(project=project, annotator=other).trace_id == trace.pk


def test_qc_traces_are_not_handed_out_by_the_plain_queue(project, annotator):
    TraceFactory(project=project, steps=1, is_qc=True)
    assert assignment_next_for_annotator(project=project, annotator=annotator) is None


def test_a_queued_assignment_comes_before_new_traces(project, annotator):
    TraceFactory(project=project, steps=1)
    later = TraceFactory(project=project, steps=1)
    Assignment.objects.create(trace=later, annotator=annotator, state=Assignment.State.QUEUED)
    assignment = assignment_next_for_annotator(project=project, annotator=annotator)
    assert assignment.trace_id == later.pk
    assert assignment.state == Assignment.State.IN_PROGRESS


def _order(project, annotator):
    order = []
    while (assignment := assignment_next_for_annotator(project=project, annotator=annotator)):
        order.append(assignment.trace_id)
        Assignment.objects.filter(pk=assignment.pk).update(state=Assignment.State.SUBMITTED)
    return order


def test_import_order_follows_ids(project, annotator):
    traces = TraceFactory.create_batch(5, project=project, steps=1)
    assert _order(project, annotator) == [t.pk for t in traces]


def test_seeded_random_order_is_stable_per_seed_and_differs_between_seeds(project):
    TraceFactory.create_batch(12, project=project, steps=1)
    project.queue_order = Project.QueueOrder.RANDOM
    project.overlap = 3
    project.queue_seed = 7
    project.save()
    a, b, c = _annotators(project, 3)
    first = _order(project, a)
    assert _order(project, b) == first
    assert sorted(first) == sorted(t.pk for t in project.traces.all())
    assert first != sorted(first)
    project.queue_seed = 8
    project.save()
    assert _order(project, c) != first


def test_fewest_labels_first_spreads_annotators_across_traces(project):
    project.overlap = 3
    project.queue_order = Project.QueueOrder.FEWEST_LABELS
    project.save()
    t1, t2, t3 = TraceFactory.create_batch(3, project=project, steps=1)
    a, b = _annotators(project, 2)
    Assignment.objects.create(trace=t1, annotator=a, state=Assignment.State.SUBMITTED)
    Assignment.objects.create(trace=t2, annotator=a, state=Assignment.State.SUBMITTED)
    # Import order would give b the first trace; fewest first gives the untouched one.
    assert assignment_next_for_annotator(project=project, annotator=b).trace_id == t3.pk


def _race_setup(*, name, slug, overlap, n_traces, n_annotators):
    """A fresh project for a race test; PostgreSQL only (SQLite serialises writers, no row locks)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no row locks and serialises writers; this race needs PostgreSQL")
    from labeling.services.projects import project_create

    lead = UserFactory(username=f"{slug}-lead")
    project = project_create(name=name, slug=slug, lead=lead, overlap=overlap)
    traces = TraceFactory.create_batch(n_traces, project=project, steps=1)
    return project, traces, _annotators(project, n_annotators)


def _run_at_once(users, work):
    """Run work(user) in one thread per user, all released by a barrier; return the errors raised."""
    barrier = threading.Barrier(len(users))
    errors: list[BaseException] = []

    def run(user):
        try:
            barrier.wait()
            work(user)
        except BaseException as exc:  # noqa: BLE001 - returned to the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_exceed_overlap():
    """Many annotators asking at the same moment: each trace gets exactly `overlap` of them."""
    project, traces, users = _race_setup(name="Race", slug="race", overlap=2, n_traces=5, n_annotators=16)
    results: dict[int, int | None] = {}

    def ask(user):
        for _ in range(3):
            assignment = assignment_next_for_annotator(project=project, annotator=user)
            results.setdefault(user.pk, None)
            if assignment is None:
                break
            results[user.pk] = assignment.trace_id
            Assignment.objects.filter(pk=assignment.pk).update(state=Assignment.State.SUBMITTED)

    errors = _run_at_once(users, ask)
    assert not errors, errors
    per_trace = {
        t.pk: Assignment.objects.filter(trace=t).count() for t in traces
    }
    assert per_trace == {t.pk: 2 for t in traces}
    pairs = list(Assignment.objects.values_list("trace_id", "annotator_id"))
    assert len(pairs) == len(set(pairs)) == 10


@pytest.mark.django_db(transaction=True)
def test_concurrent_api_requests_never_exceed_overlap():
    """The same race through the HTTP API: POST queue/next from many annotators at once."""
    from rest_framework.test import APIClient

    project, traces, users = _race_setup(
        name="API race", slug="api-race", overlap=3, n_traces=4, n_annotators=20
    )
    statuses: list[int] = []

    def ask(user):
        client = APIClient()
        client.force_authenticate(user)
        statuses.append(client.post("/api/projects/api-race/queue/next/").status_code)

    errors = _run_at_once(users, ask)
    assert not errors, errors
    assert sorted(statuses) == [200] * 12 + [204] * 8
