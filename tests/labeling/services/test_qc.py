"""QC traces: gold on every step to mark one; mixed into queues at qc_rate (seeded), to every
annotator whatever the overlap, never twice to one, and never shown as QC."""
import re

import pytest
from django.test import Client
from django.urls import reverse

from labeling.errors import Conflict
from labeling.models import Assignment, GoldLabel, Membership, Trace
from labeling.services.projects import membership_set
from labeling.services.qc import trace_qc_set
from labeling.services.queue import assignment_next_for_annotator
from tests.labeling.factories import TraceFactory, UserFactory

pytestmark = pytest.mark.django_db


def _gold_all(trace, project, key="positive"):
    category = project.taxonomy_version.categories.get(key=key)
    GoldLabel.objects.bulk_create(
        GoldLabel(step=step, trace=trace, category=category, polarity=category.polarity,
                  method=GoldLabel.Method.LEAD)
        for step in trace.steps.all()
    )


def _qc_traces(project, n, steps=1):
    traces = []
    for _ in range(n):
        trace = TraceFactory(project=project, steps=steps)
        _gold_all(trace, project)
        traces.append(trace_qc_set(trace=trace, is_qc=True))
    return traces


def _take(project, annotator) -> Assignment | None:
    """Hand out the next trace and submit it at once, as a fast annotator would."""
    assignment = assignment_next_for_annotator(project=project, annotator=annotator)
    if assignment is not None:
        Assignment.objects.filter(pk=assignment.pk).update(state=Assignment.State.SUBMITTED)
    return assignment


def test_marking_qc_needs_gold_on_every_step(project):
    trace = TraceFactory(project=project, steps=3)
    category = project.taxonomy_version.categories.get(key="positive")
    step = trace.steps.get(index=0)
    GoldLabel.objects.create(step=step, trace=trace, category=category, polarity=1,
                             method=GoldLabel.Method.QC)
    with pytest.raises(Conflict, match="2 of 3 steps have none"):
        trace_qc_set(trace=trace, is_qc=True)
    trace.refresh_from_db()
    assert trace.is_qc is False


def test_marking_and_unmarking_a_trace_with_full_gold(project):
    trace = TraceFactory(project=project, steps=2)
    _gold_all(trace, project)
    assert trace_qc_set(trace=trace, is_qc=True).is_qc is True
    assert Trace.objects.get(pk=trace.pk).is_qc is True
    assert trace_qc_set(trace=trace, is_qc=False).is_qc is False


def test_qc_traces_are_handed_out_at_the_configured_rate(project, annotator):
    project.qc_rate = 0.25
    project.overlap = 1
    project.queue_seed = 11
    project.save()
    qc_ids = {t.pk for t in _qc_traces(project, 80)}
    TraceFactory.create_batch(250, project=project, steps=1)
    handed = [_take(project, annotator) for _ in range(200)]
    qc_share = sum(a.trace_id in qc_ids for a in handed) / len(handed)
    assert 0.18 <= qc_share <= 0.32
    # Seeded per annotator and hand-out number: the same project replays the same sequence.
    Assignment.objects.filter(annotator=annotator).delete()
    again = [_take(project, annotator) for _ in range(200)]
    assert [a.trace_id in qc_ids for a in again] == [a.trace_id in qc_ids for a in handed]


def test_no_qc_trace_is_handed_out_at_rate_zero(project, annotator):
    qc_ids = {t.pk for t in _qc_traces(project, 3)}
    TraceFactory.create_batch(5, project=project, steps=1)
    handed = [_take(project, annotator) for _ in range(8)]
    assert [a for a in handed if a is not None and a.trace_id in qc_ids] == []
    assert handed[-3:] == [None, None, None]


def test_a_qc_trace_never_goes_twice_to_one_annotator(project, annotator):
    project.qc_rate = 1.0
    project.save()
    qc_ids = {t.pk for t in _qc_traces(project, 3)}
    regular = TraceFactory.create_batch(4, project=project, steps=1)
    got = [_take(project, annotator).trace_id for _ in range(7)]
    assert len(set(got)) == 7
    assert set(got[:3]) == qc_ids
    assert set(got[3:]) == {t.pk for t in regular}
    assert _take(project, annotator) is None


def test_a_qc_trace_goes_to_every_annotator_whatever_the_overlap(project):
    project.qc_rate = 1.0
    project.overlap = 1
    project.save()
    (qc,) = _qc_traces(project, 1)
    people = [UserFactory(username=f"qc-ann-{i}") for i in range(4)]
    for person in people:
        membership_set(project=project, user=person, role=Membership.Role.ANNOTATOR)
    assert [_take(project, p).trace_id for p in people] == [qc.pk] * 4


def test_the_annotator_cannot_tell_a_qc_trace(project, annotator):
    project.qc_rate = 1.0
    project.save()
    (qc,) = _qc_traces(project, 1, steps=2)
    assignment = assignment_next_for_annotator(project=project, annotator=annotator)
    assert assignment.trace_id == qc.pk
    client = Client()
    client.force_login(annotator)
    html = client.get(reverse("frontend:trace", args=[project.slug, qc.pk])).content.decode()
    assert "is_qc" not in html and "isQc" not in html
    # As a word: a random CSRF token may contain the letters "QC".
    assert not re.search(r"\bQC\b", html) and "quality" not in html.lower()
    labels = client.get(
        reverse("labeling:trace-labels", kwargs={"slug": project.slug, "trace_id": qc.pk})
    )
    assert labels.status_code == 200
    assert "qc" not in labels.content.decode().lower()
    # Gold labels stay hidden too: the answer key never reaches the annotator.
    assert "gold" not in html.lower() and "gold" not in labels.content.decode().lower()
