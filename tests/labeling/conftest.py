"""Fixtures shared by the label-saving tests (API and the PostgreSQL one-statement save)."""
import pytest

from labeling.services.queue import assignment_next_for_annotator
from tests.labeling.factories import TraceFactory


@pytest.fixture
def trace(project):
    """The project's only trace; a module may override it (e.g. with more steps)."""
    return TraceFactory(project=project, steps=4)


@pytest.fixture
def assignment(project, annotator, trace):
    """The annotator's in-progress assignment of `trace`, taken from the queue."""
    return assignment_next_for_annotator(project=project, annotator=annotator)
