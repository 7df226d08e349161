"""assignment_skip removes the skipper's labels in a fixed number of queries, keeping history."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.models import StepLabel, StepLabelChange
from labeling.services.assignments import assignment_skip
from labeling.services.labels import LabelInput, step_labels_set
from labeling.services.queue import assignment_next_for_annotator
from tests.labeling.factories import TraceFactory

pytestmark = pytest.mark.django_db


def _skip_labelled_trace(project, annotator, steps: int) -> int:
    trace = TraceFactory(project=project, steps=steps)
    assignment = assignment_next_for_annotator(project=project, annotator=annotator)
    assert assignment.trace_id == trace.pk
    step_labels_set(
        trace=trace, annotator=annotator,
        labels=[LabelInput(i, "positive") for i in range(steps)],
    )
    with CaptureQueriesContext(connection) as queries:
        assignment_skip(assignment=assignment, reason="cannot_judge")
    assert not StepLabel.objects.filter(trace=trace).exists()
    assert StepLabelChange.objects.filter(step__trace=trace, action="deleted").count() == steps
    return len(queries)


def test_skipping_a_long_trace_costs_the_same_queries_as_a_short_one(project, annotator):
    assert _skip_labelled_trace(project, annotator, 3) == _skip_labelled_trace(project, annotator, 30)
