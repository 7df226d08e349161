"""Database constraints hold the domain's invariants."""
import pytest
from django.db import IntegrityError

from labeling.models import Category, Step, StepLabel
from tests.labeling.factories import TraceFactory

pytestmark = pytest.mark.django_db


def test_default_taxonomy_has_three_polarities_with_hotkeys(project):
    rows = list(project.taxonomy_version.categories.values_list("key", "polarity", "hotkey"))
    assert rows == [("positive", 1, "1"), ("neutral", 0, "2"), ("negative", -1, "3")]
    assert project.taxonomy_version.is_published


def test_polarity_outside_minus_one_to_one_is_refused(project):
    with pytest.raises(IntegrityError):
        Category.objects.create(version=project.taxonomy_version, key="x", name="x", polarity=2)


def test_two_categories_cannot_share_a_hotkey(project):
    with pytest.raises(IntegrityError):
        Category.objects.create(version=project.taxonomy_version, key="x", name="x", polarity=-1, hotkey="1")


def test_step_index_is_unique_within_a_trace(project):
    trace = TraceFactory(project=project, steps=2)
    with pytest.raises(IntegrityError):
        Step.objects.create(trace=trace, index=1, text="again")


def test_one_label_per_step_and_annotator(project, annotator):
    trace = TraceFactory(project=project, steps=1)
    step = trace.steps.get()
    category = project.taxonomy_version.categories.get(key="positive")
    StepLabel.objects.create(step=step, trace=trace, annotator=annotator, category=category, polarity=1)
    with pytest.raises(IntegrityError):
        StepLabel.objects.create(step=step, trace=trace, annotator=annotator, category=category, polarity=1)
