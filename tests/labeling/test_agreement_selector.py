"""The agreement selector: label arrays from the database, and the labels fingerprint."""
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from labeling.models import Category, GoldLabel, StepLabel
from labeling.selectors.agreement import (
    AgreementFilters,
    _int_columns,
    _parse_int8_array_send,
    label_arrays_for_project,
    labels_fingerprint,
)
from labeling.services.imports import trace_import
from labeling.services.labels import LabelInput, step_label_delete, step_labels_set
from tests.labeling.agreement_setup import annotators, trace_with_labels


def test_int8_array_send_is_parsed_without_python_per_row():
    # ndim 1, no nulls, oid 20 (int8), size 3, lower bound 1, then (len 8, value) x 3.
    header = np.array([1, 0, 20, 3, 1], dtype=">i4").tobytes()
    body = b"".join(
        np.array([8], dtype=">i4").tobytes() + np.array([v], dtype=">i8").tobytes()
        for v in (7, -1, 2**40)
    )
    assert _parse_int8_array_send(header + body).tolist() == [7, -1, 2**40]
    assert _parse_int8_array_send(None).size == 0


@pytest.mark.django_db
def test_int_columns_equal_values_list(project):
    ann, bob = annotators(project, "ann", "bob")
    trace_with_labels(project, {ann: ["positive", "negative"], bob: ["neutral", "negative"]})
    qs = StepLabel.objects.filter(trace__project=project)
    fields = ("step_id", "trace_id", "annotator_id", "category_id", "polarity")
    fast = _int_columns(qs, fields)
    slow = np.array(list(qs.values_list(*fields)), dtype=np.int64)
    assert sorted(map(tuple, fast.tolist())) == sorted(map(tuple, slow.tolist()))


@pytest.mark.django_db
def test_label_arrays_carry_trace_step_index_polarity_and_gold(project):
    ann, bob = annotators(project, "ann", "bob")
    first = trace_with_labels(
        project, {ann: ["positive", "negative"], bob: ["positive", "neutral"]}
    )
    second = trace_with_labels(project, {ann: ["", "", "negative"], bob: ["", "", "positive"]})
    step = first.steps.get(index=1)
    neutral = Category.objects.get(version=project.taxonomy_version, key="neutral")
    GoldLabel.objects.create(step=step, trace=first, category=neutral, polarity=0, method="lead")
    table = label_arrays_for_project(project_id=project.pk, filters=AgreementFilters())
    assert table.n_labels == 6 and table.n_items == 3 and table.n_traces == 2
    assert table.coders == ("ann", "bob")
    assert table.categories == ("positive", "neutral", "negative")
    rows = {
        (table.traces[table.trace[j]], int(table.step_index[j]), table.coders[table.coder[j]]):
        (table.categories[table.value[j]], int(table.polarity[j]))
        for j in range(table.n_labels)
    }
    assert rows[(first.pk, 1, "ann")] == ("negative", -1)
    assert rows[(first.pk, 1, "bob")] == ("neutral", 0)
    assert rows[(second.pk, 2, "bob")] == ("positive", 1)
    gold_items = np.nonzero(table.gold_value >= 0)[0]
    assert [table.categories[table.gold_value[i]] for i in gold_items] == ["neutral"]


@pytest.mark.django_db
def test_fingerprint_changes_when_labels_or_gold_change(project):
    (ann,) = annotators(project, "ann")
    trace = trace_with_labels(project, {ann: ["positive", "positive"]})
    seen = {labels_fingerprint(project_id=project.pk).value}
    step_labels_set(
        trace=trace, annotator=ann, labels=[LabelInput(step_index=0, category_key="negative")]
    )
    seen.add(labels_fingerprint(project_id=project.pk).value)
    step_label_delete(trace=trace, annotator=ann, step_index=1)
    seen.add(labels_fingerprint(project_id=project.pk).value)
    negative = Category.objects.get(version=project.taxonomy_version, key="negative")
    GoldLabel.objects.create(step=trace.steps.get(index=0), trace=trace, category=negative,
                             polarity=-1, method="lead")
    fingerprint = labels_fingerprint(project_id=project.pk)
    seen.add(fingerprint.value)
    assert len(seen) == 4
    assert fingerprint.label_count == 1


@pytest.mark.django_db
def test_fingerprint_sees_an_update_stamped_before_the_latest_one(project, monkeypatch):
    """A save stamps updated_at before it takes its locks and commits: one committed after a
    later-stamped save leaves the count and the latest updated_at as they were."""
    ann, bob = annotators(project, "ann", "bob")
    trace = trace_with_labels(project, {ann: ["positive"], bob: ["positive"]})
    before = labels_fingerprint(project_id=project.pk)
    latest = StepLabel.objects.get(annotator=bob).updated_at
    monkeypatch.setattr(timezone, "now", lambda: latest - timedelta(seconds=5))
    step_labels_set(
        trace=trace, annotator=ann, labels=[LabelInput(step_index=0, category_key="negative")]
    )
    monkeypatch.undo()
    assert StepLabel.objects.get(annotator=ann).updated_at < latest
    after = labels_fingerprint(project_id=project.pk)
    assert after.value != before.value
    assert after.label_count == before.label_count == 2


@pytest.mark.django_db
def test_fingerprint_changes_when_an_import_adds_labels(project, fixtures_dir):
    """Imported labels write no history rows: the fingerprint reads the labels themselves."""
    (ann,) = annotators(project, "ann")
    trace_with_labels(project, {ann: ["positive"]})
    before = labels_fingerprint(project_id=project.pk)
    result = trace_import(
        project=project, path=fixtures_dir / "importers" / "processbench_gsm8k_30.jsonl"
    )
    after = labels_fingerprint(project_id=project.pk)
    assert result.labels_added > 0
    assert after.value != before.value
    assert after.label_count == 1 + result.labels_added
