"""step_labels_set: idempotent upsert with history."""
import pytest

from labeling.errors import LabelNotInTaxonomy
from labeling.models import StepLabel, StepLabelChange
from labeling.services.labels import LabelInput, step_label_delete, step_labels_set
from tests.labeling.factories import TraceFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_repeating_a_save_changes_nothing(project, annotator):
    trace = TraceFactory(project=project, steps=3)
    labels = [LabelInput(0, "positive"), LabelInput(1, "negative", rationale="7*8 is 56")]
    step_labels_set(trace=trace, annotator=annotator, labels=labels)
    step_labels_set(trace=trace, annotator=annotator, labels=labels)
    assert StepLabel.objects.filter(annotator=annotator).count() == 2
    assert StepLabelChange.objects.filter(annotator=annotator).count() == 2
    negative = StepLabel.objects.get(step__index=1)
    assert (negative.polarity, negative.rationale) == (-1, "7*8 is 56")


def test_a_change_is_kept_in_history(project, annotator):
    trace = TraceFactory(project=project, steps=1)
    step_labels_set(trace=trace, annotator=annotator, labels=[LabelInput(0, "positive")])
    step_labels_set(trace=trace, annotator=annotator, labels=[LabelInput(0, "neutral")])
    step_label_delete(trace=trace, annotator=annotator, step_index=0)
    actions = list(StepLabelChange.objects.order_by("id").values_list("action", "polarity"))
    assert actions == [("created", 1), ("updated", 0), ("deleted", 0)]
    assert not StepLabel.objects.exists()


def test_unknown_category_is_refused_and_nothing_is_written(project, annotator):
    trace = TraceFactory(project=project, steps=2)
    with pytest.raises(LabelNotInTaxonomy):
        step_labels_set(
            trace=trace, annotator=annotator,
            labels=[LabelInput(0, "positive"), LabelInput(1, "nonsense")],
        )
    assert not StepLabel.objects.exists()


def test_each_change_bumps_the_label_revision_and_a_repeat_does_not(project):
    """The labels fingerprint sums revisions, one per update (single and bulk update paths)."""
    trace, user = TraceFactory(project=project, steps=2), UserFactory()
    step_labels_set(trace=trace, annotator=user,
                    labels=[LabelInput(0, "positive"), LabelInput(1, "positive")])
    step_labels_set(trace=trace, annotator=user, labels=[LabelInput(0, "negative")])
    step_labels_set(trace=trace, annotator=user, labels=[LabelInput(0, "negative")])
    step_labels_set(trace=trace, annotator=user,
                    labels=[LabelInput(0, "neutral"), LabelInput(1, "negative")])
    revisions = dict(StepLabel.objects.values_list("step__index", "revision"))
    assert revisions == {0: 2, 1: 1}
