"""TRL "stepwise supervision": {"prompt": str, "completions": [str], "labels": [bool]}.

Labels may be booleans or the integers 0/1 (True/1 = positive, False/0 = negative). Floats are
refused: PRMTrainer casts labels with int(), so a soft label would silently become 0. An optional
`id` names the record. Labels belong to the source annotator `source-trl`.
"""

from __future__ import annotations

from typing import Any

from labeling.importers.records import Checker, SourceLabel, TraceRecord, is_int, type_name

FORMAT = "trl"


def parse(obj: Any, *, line: int) -> TraceRecord:
    """Return the trace of one TRL stepwise record, or raise RecordInvalid."""
    check = Checker(line)
    record = check.record(obj)
    problem = check.string(record, "prompt")
    steps = check.steps(record, "completions")
    external_id = check.optional_id(record)
    raw_labels = record.get("labels")
    labels: list[SourceLabel] = []
    if "labels" not in record:
        check.add("labels", "missing")
    elif not isinstance(raw_labels, list):
        check.add("labels", f"must be a list of booleans, got {type_name(raw_labels)}")
    else:
        if steps and len(raw_labels) != len(steps):
            check.add("labels", f"has {len(raw_labels)} labels for {len(steps)} completions")
        for i, value in enumerate(raw_labels):
            if isinstance(value, bool) or (is_int(value) and value in (0, 1)):
                labels.append(SourceLabel(i, 1 if value else -1))
            else:
                check.add(f"labels[{i}]", f"must be true/false (or 1/0), got {value!r}")
    check.raise_if_any()
    return TraceRecord(
        problem=problem,
        steps=steps,
        source_format=FORMAT,
        source=FORMAT,
        line=line,
        external_id=external_id,
        labels=labels,
    )
