"""QC traces stay out of inter-annotator agreement (report, weekly trend) and of adjudication,
count for QC accuracy, and flipping a trace's QC flag refreshes cached reports and rankings."""
import numpy as np
import pytest
from django.utils import timezone

from labeling.models import Assignment, GoldLabel, Trace
from labeling.selectors.adjudication import (
    disputed_traces_for_project,
    open_trace_ids_for_project,
    unanimous_steps_for_project,
)
from labeling.selectors.agreement import (
    AgreementFilters,
    label_arrays_for_project,
    labels_fingerprint,
)
from labeling.selectors.dashboard import (
    qc_accuracy_by_annotator,
    weekly_trend_for_project,
    weekly_trend_rows_for_project,
)
from labeling.services.agreement import AgreementParams, agreement_report_get_or_schedule
from labeling.services.gold import gold_label_delete
from labeling.services.qc import trace_qc_set
from tests.labeling.agreement_setup import annotators, trace_with_labels

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_cache")]


def _gold(project, trace: Trace, keys: list[str]) -> None:
    categories = {c.key: c for c in project.taxonomy_version.categories.all()}
    for step, key in zip(trace.steps.order_by("index"), keys, strict=True):
        GoldLabel.objects.create(step=step, trace=trace, category=categories[key],
                                 polarity=categories[key].polarity, method=GoldLabel.Method.QC)


def _report_labels(project) -> int:
    report = agreement_report_get_or_schedule(
        project=project, params=AgreementParams(), schedule=lambda _: None
    )
    return report.result["n_labels"]


def test_qc_traces_are_left_out_of_agreement_but_scored_for_qc_accuracy(project):
    ann, bob = annotators(project, "ann", "bob")
    plain = trace_with_labels(
        project, {ann: ["positive", "negative"], bob: ["positive", "neutral"]}
    )
    qc = trace_with_labels(project, {ann: ["positive", "positive"], bob: ["negative", "positive"]})
    _gold(project, qc, ["positive", "positive"])
    trace_qc_set(trace=qc, is_qc=True)
    table = label_arrays_for_project(project_id=project.pk, filters=AgreementFilters())
    assert table.traces == (plain.pk,)
    assert table.n_labels == 4
    assert not np.any(table.gold_value >= 0)  # the QC answer key is not "gold" of the data
    assert qc_accuracy_by_annotator(project=project) == {ann.pk: (2, 2), bob.pk: (2, 1)}


def test_flipping_the_qc_flag_of_a_labelled_trace_refreshes_the_stored_report(project):
    ann, bob = annotators(project, "ann", "bob")
    trace_with_labels(project, {ann: ["positive", "negative"], bob: ["positive", "neutral"]})
    qc = trace_with_labels(project, {ann: ["positive", "positive"], bob: ["negative", "positive"]})
    _gold(project, qc, ["positive", "positive"])
    assert _report_labels(project) == 8
    before = labels_fingerprint(project_id=project.pk).value
    trace_qc_set(trace=qc, is_qc=True)
    assert labels_fingerprint(project_id=project.pk).value != before
    assert _report_labels(project) == 4
    flagged = labels_fingerprint(project_id=project.pk).value
    trace_qc_set(trace=qc, is_qc=False)
    assert labels_fingerprint(project_id=project.pk).value not in (before, flagged)
    assert _report_labels(project) == 8


def test_qc_sets_with_equal_label_counts_and_trace_id_sums_have_distinct_fingerprints(project):
    """Traces t, t+1, t+2 with 2, 4, 2 labels: QC {t, t+2} and QC {t+1} both put 4 labels
    with trace ids summing to 4t + 4 on QC traces, yet leave different labels to agreement."""
    ann, bob = annotators(project, "ann", "bob")
    first = trace_with_labels(project, {ann: ["positive"], bob: ["positive"]})
    middle = trace_with_labels(
        project, {ann: ["positive", "negative"], bob: ["positive", "neutral"]}
    )
    last = trace_with_labels(project, {ann: ["negative"], bob: ["neutral"]})
    assert [middle.pk, last.pk] == [first.pk + 1, first.pk + 2]
    _gold(project, first, ["positive"])
    _gold(project, middle, ["positive", "positive"])
    _gold(project, last, ["positive"])
    trace_qc_set(trace=first, is_qc=True)
    trace_qc_set(trace=last, is_qc=True)
    outer = labels_fingerprint(project_id=project.pk).value
    assert _report_labels(project) == 4
    trace_qc_set(trace=first, is_qc=False)
    trace_qc_set(trace=last, is_qc=False)
    trace_qc_set(trace=middle, is_qc=True)
    assert labels_fingerprint(project_id=project.pk).value != outer
    assert _report_labels(project) == 4
    report = agreement_report_get_or_schedule(
        project=project, params=AgreementParams(), schedule=lambda _: None
    )
    assert report.result["n_traces"] == 2


def test_an_unchanged_qc_flag_keeps_the_fingerprint(project):
    ann, bob = annotators(project, "ann", "bob")
    trace = trace_with_labels(project, {ann: ["positive"], bob: ["positive"]})
    _gold(project, trace, ["positive"])
    before = labels_fingerprint(project_id=project.pk).value
    trace_qc_set(trace=trace, is_qc=False)
    assert labels_fingerprint(project_id=project.pk).value == before


def test_weekly_submissions_leave_qc_traces_out_like_weekly_labels(project):
    """labels_made leaves QC traces out: so does traces_submitted of the same week."""
    ann, bob = annotators(project, "ann", "bob")
    plain = trace_with_labels(project, {ann: ["positive"], bob: ["positive"]})
    qc = trace_with_labels(project, {ann: ["positive"], bob: ["negative"]})
    now = timezone.now()
    for trace in (plain, qc):
        for user in (ann, bob):
            Assignment.objects.create(trace=trace, annotator=user, submitted_at=now,
                                      state=Assignment.State.SUBMITTED)
    _gold(project, qc, ["positive"])
    trace_qc_set(trace=qc, is_qc=True)
    [week] = weekly_trend_rows_for_project(project_id=project.pk)
    assert (week["labels_made"], week["traces_submitted"]) == (2, 2)


def test_weekly_trend_leaves_qc_traces_out(project):
    ann, bob = annotators(project, "ann", "bob")
    trace_with_labels(project, {ann: ["positive", "negative"], bob: ["positive", "negative"]})
    qc = trace_with_labels(project, {ann: ["positive", "positive"], bob: ["negative", "neutral"]})
    _gold(project, qc, ["positive", "positive"])
    trace_qc_set(trace=qc, is_qc=True)
    [week] = weekly_trend_for_project(project=project)
    assert (week["labels_made"], week["pairable_steps"]) == (4, 2)
    assert week["percent_agreement"] == 1.0


def test_qc_traces_are_no_disputes_to_adjudicate(project, lead):
    ann, bob = annotators(project, "ann", "bob")
    plain = trace_with_labels(
        project, {ann: ["positive", "negative"], bob: ["neutral", "negative"]}
    )
    qc = trace_with_labels(project, {
        ann: ["positive", "positive", "neutral"], bob: ["negative", "positive", "neutral"],
    })
    _gold(project, qc, ["positive", "positive", "neutral"])
    listed = disputed_traces_for_project(project=project, status="disputed")
    assert [r.trace_id for r in listed.rows] == [plain.pk, qc.pk]
    trace_qc_set(trace=qc, is_qc=True)  # the cached ranking is not recounted for this
    listed = disputed_traces_for_project(project=project, status="disputed")
    assert [r.trace_id for r in listed.rows] == [plain.pk]
    assert (listed.disputed_trace_count, listed.open_step_count) == (1, 1)
    assert listed.unanimous_open_step_count == 1
    # A QC trace missing gold on some steps still lists no open dispute nor unanimous step:
    # its answer key is the lead's to complete, not the annotators'.
    gold_label_delete(trace=qc, step_index=0)
    gold_label_delete(trace=qc, step_index=2)
    assert open_trace_ids_for_project(project=project) == [plain.pk]
    assert [t for _, t, _ in unanimous_steps_for_project(project=project)] == [plain.pk]
    trace_qc_set(trace=qc, is_qc=False)
    assert open_trace_ids_for_project(project=project) == [plain.pk, qc.pk]
    assert {t for _, t, _ in unanimous_steps_for_project(project=project)} == {plain.pk, qc.pk}
