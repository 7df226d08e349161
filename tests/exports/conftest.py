"""Fixtures for export tests: a project whose traces carry labels from two annotators."""
import pytest

from labeling.models import Category, Membership, Step, StepLabel
from labeling.services.projects import membership_set
from tests.labeling.factories import TraceFactory, UserFactory

KEY_BY_POLARITY = {1: "positive", 0: "neutral", -1: "negative"}


def labels_add(trace, annotator, polarities, *, rationale="", is_unsure=False):
    """Give `annotator`'s label to the trace's steps in order; None leaves a step unlabelled."""
    version = trace.project.taxonomy_version
    categories = {c.key: c for c in Category.objects.filter(version=version)}
    steps = list(Step.objects.filter(trace=trace).order_by("index"))
    StepLabel.objects.bulk_create(
        StepLabel(
            step=step, trace=trace, annotator=annotator, category=categories[KEY_BY_POLARITY[p]],
            polarity=p, rationale=rationale, is_unsure=is_unsure,
        )
        for step, p in zip(steps, polarities, strict=False)
        if p is not None
    )


# Per trace: (annotator A's labels, annotator B's labels); problems 0 and 1 share a text.
LABELS = [
    ([1, 1, -1], [1, 1, -1]),
    ([1, 0, 1], [1, 1, 1]),
    ([1, -1, None], [1, -1, None]),
    ([-1, 1, 1], [1, 1, 1]),
    ([1, 1, 1], [1, 1, 1]),
    ([0, 0, 0], [0, 0, 0]),
]


@pytest.fixture
def annotators(project):
    a = UserFactory(username="alice")
    b = UserFactory(username="bob")
    for user in (a, b):
        membership_set(project=project, user=user, role=Membership.Role.ANNOTATOR)
    return a, b


@pytest.fixture
def labelled_project(project, annotators):
    """Twelve traces of three steps: the LABELS pattern twice; two traces repeat a problem."""
    a, b = annotators
    traces = []
    for i in range(12):
        problem = "Shared problem: what is 1+1?" if i in (0, 1) else f"Problem {i}: what is {i}*{i}?"
        trace = TraceFactory(
            project=project, problem=problem, content_hash=f"hash-{i}", steps=3,
            generator="gen-a" if i % 2 == 0 else "gen-b", external_id=f"t{i}",
            source_format="processbench",
        )
        labels_a, labels_b = LABELS[i % len(LABELS)]
        labels_add(trace, a, labels_a)
        labels_add(trace, b, labels_b)
        traces.append(trace)
    return project
