"""ProcessBench records (Qwen/ProcessBench): `label` is the 0-based index of the first wrong step.

Steps before `label` are positive, the step at `label` is negative and later steps are left
unlabeled (the experts stopped there); -1 means every step is correct. The labels belong to
one source annotator, `source-processbench`.
"""

from __future__ import annotations

from typing import Any

from labeling.importers.records import Checker, SourceLabel, TraceRecord, is_int, type_name

FORMAT = "processbench"


def parse(obj: Any, *, line: int) -> TraceRecord:
    """Return the trace of one ProcessBench record, or raise RecordInvalid."""
    check = Checker(line)
    record = check.record(obj)
    external_id = check.string(record, "id")
    generator = check.string(record, "generator", required=False)
    problem = check.string(record, "problem")
    steps = check.steps(record, "steps")
    correct = record.get("final_answer_correct")
    if correct is not None and not isinstance(correct, bool):
        check.add("final_answer_correct", f"must be true or false, got {type_name(correct)}")
        correct = None
    label = record.get("label")
    labels: list[SourceLabel] = []
    if not is_int(label):
        check.add(
            "label",
            "missing" if "label" not in record else f"must be an integer, got {type_name(label)}",
        )
    elif steps and not -1 <= label < len(steps):
        check.add("label", f"is {label}, but must be -1 or a step index from 0 to {len(steps) - 1}")
    elif steps:
        labels = first_error_labels(first_error=label, step_count=len(steps))
    check.raise_if_any()
    return TraceRecord(
        problem=problem,
        steps=steps,
        source_format=FORMAT,
        source=FORMAT,
        line=line,
        is_outcome_correct=correct,
        generator=generator,
        external_id=external_id,
        metadata={"id": external_id, "final_answer_correct": correct, "label": label},
        labels=labels,
    )


def first_error_labels(*, first_error: int, step_count: int) -> list[SourceLabel]:
    """Return positives before the first error, a negative on it, none after (-1: all positive)."""
    if first_error == -1:
        return [SourceLabel(i, 1) for i in range(step_count)]
    return [SourceLabel(i, 1) for i in range(first_error)] + [SourceLabel(first_error, -1)]
