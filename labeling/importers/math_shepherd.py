"""Math-Shepherd records: `input` ends each step with the tag "ки"; `label` puts +/- there.

Step 1 is glued onto the problem in `input`, so the problem is split off at "Step 1:" (or
"step 1:"). Step texts keep their "Step N:" prefix as in the source. `+` is positive and `-`
negative; the labels are automatic (rollout-based) and belong to `source-math-shepherd`.
"""

from __future__ import annotations

import re
from typing import Any

from labeling.importers.records import Checker, SourceLabel, TraceRecord, type_name

FORMAT = "math-shepherd"
TAG = "ки"
_STEP_ONE = re.compile(r"[Ss]tep 1\s*:")
_MARKER = re.compile(r"^[Ss]tep \d+\s*:")


def parse(obj: Any, *, line: int) -> TraceRecord:
    """Return the trace of one Math-Shepherd record, or raise RecordInvalid."""
    check = Checker(line)
    record = check.record(obj)
    text = check.string(record, "input")
    label_text = check.string(record, "label")
    task = record.get("task")
    if task is not None and not isinstance(task, str):
        check.add("task", f"must be a string, got {type_name(task)}")
    external_id = check.optional_id(record)
    check.raise_if_any()
    pieces = text.split(TAG)
    if len(pieces) < 2:
        check.add("input", f"has no {TAG} step tag")
        check.raise_if_any()
    if pieces[-1].strip():
        check.add("input", f"has text after the last {TAG} tag")
    pieces = pieces[:-1]
    polarities = _tag_values(check, label_text, pieces)
    match = _STEP_ONE.search(pieces[0])
    if match is None:
        check.add("input", "has no 'Step 1:' marker to split the problem from the first step")
        check.raise_if_any()
    assert match is not None
    problem = pieces[0][: match.start()].strip()
    steps = [pieces[0][match.start() :].strip()] + [p.strip() for p in pieces[1:]]
    if not problem:
        check.add("input", "has no problem before 'Step 1:'")
    for i, step in enumerate(steps):
        if not _MARKER.sub("", step).strip():
            check.add(f"input.step[{i}]", "is an empty step")
    check.raise_if_any()
    return TraceRecord(
        problem=problem,
        steps=steps,
        source_format=FORMAT,
        source=FORMAT,
        line=line,
        external_id=external_id,
        metadata={"task": task} if task else {},
        labels=[SourceLabel(i, p) for i, p in enumerate(polarities)],
    )


def _tag_values(check: Checker, label_text: str, pieces: list[str]) -> list[int]:
    """Read the +/- that `label` holds where `input` holds each tag."""
    values: list[int] = []
    cursor = 0
    for i, piece in enumerate(pieces):
        if not label_text.startswith(piece, cursor):
            check.add("label", f"does not repeat the input's text before step tag {i + 1}")
            return []
        cursor += len(piece)
        mark = label_text[cursor : cursor + 1]
        if mark not in ("+", "-"):
            check.add("label", f"must hold + or - at step tag {i + 1}, found {mark or 'the end'!r}")
            return []
        values.append(1 if mark == "+" else -1)
        cursor += 1
    return values
