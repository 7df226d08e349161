"""The native JSONL format: one trace per line, what our own `native` export writes.

    {"id": "t-1",                          # optional, unique in the file
     "problem": "What is 2+3*4?",          # required, non-empty
     "steps": ["3*4 = 12.", "2+12 = 14."], # required, non-empty strings
     "final_answer": "14",                 # optional
     "ground_truth_answer": "14",          # optional
     "outcome_correct": true,              # optional: true, false or null
     "generator": "model-x",               # optional
     "metadata": {...},                    # optional object, kept as it is
     "labels": [                           # optional
        {"annotator": "alice",             # optional; "" or absent = the file's own source
         "step": 0,                        # 0-based step index
         "polarity": 1,                    # -1, 0 or 1
         "category": "positive",           # optional taxonomy key (must match the polarity)
         "unsure": false}]}                # optional

A file may also be one JSON array of such objects. Labels arrive as source-annotator labels:
annotator "alice" becomes the non-person user `source-native-alice`; a name that already starts
with "source-" (an exported source annotator) is kept as it is.
"""

from __future__ import annotations

from typing import Any

from labeling.importers.records import Checker, SourceLabel, TraceRecord, is_int, type_name

FORMAT = "native"


def parse(obj: Any, *, line: int) -> TraceRecord:
    """Return the trace of one native record, or raise RecordInvalid with every problem."""
    check = Checker(line)
    record = check.record(obj)
    problem = check.string(record, "problem")
    steps = check.steps(record, "steps")
    external_id = check.optional_id(record)
    final_answer = check.string(record, "final_answer", required=False)
    ground_truth = check.string(record, "ground_truth_answer", required=False)
    generator = check.string(record, "generator", required=False)
    outcome = check.optional_bool(record, "outcome_correct")
    metadata = record.get("metadata")
    metadata = {} if metadata is None else metadata
    if not isinstance(metadata, dict):
        check.add("metadata", f"must be an object, got {type_name(metadata)}")
        metadata = {}
    labels = parse_labels(check, record.get("labels"), step_count=len(steps))
    check.raise_if_any()
    return TraceRecord(
        problem=problem,
        steps=steps,
        source_format=FORMAT,
        source=FORMAT,
        line=line,
        final_answer=final_answer,
        ground_truth_answer=ground_truth,
        is_outcome_correct=outcome,
        generator=generator,
        external_id=external_id,
        metadata=metadata,
        labels=labels,
    )



def parse_labels(check: Checker, value: Any, *, step_count: int) -> list[SourceLabel]:
    """Validate a native `labels` list against the number of steps."""
    if value is None:
        return []
    if not isinstance(value, list):
        check.add("labels", f"must be a list, got {type_name(value)}")
        return []
    labels: list[SourceLabel] = []
    seen: set[tuple[str, int]] = set()
    for i, item in enumerate(value):
        if type(item) is dict:
            # The common case, checked with the fewest operations; any doubt takes the
            # detailed path below, which names what is wrong.
            step, polarity = item.get("step"), item.get("polarity")
            annotator, category = item.get("annotator") or "", item.get("category") or ""
            unsure = item.get("unsure", False)
            if (
                type(step) is int
                and 0 <= step < step_count
                and type(polarity) is int
                and -1 <= polarity <= 1
                and type(annotator) is str
                and type(category) is str
                and type(unsure) is bool
                and (annotator, step) not in seen
            ):
                seen.add((annotator, step))
                labels.append(SourceLabel(step, polarity, annotator, unsure, category))
                continue
        name = f"labels[{i}]"
        if not isinstance(item, dict):
            check.add(name, f"must be an object, got {type_name(item)}")
            continue
        annotator = item.get("annotator") or ""
        if not isinstance(annotator, str):
            check.add(f"{name}.annotator", f"must be a string, got {type_name(annotator)}")
            continue
        step = item.get("step")
        if not is_int(step):
            check.add(
                f"{name}.step",
                "missing" if step is None else f"must be an integer, got {type_name(step)}",
            )
            continue
        if not 0 <= step < step_count:
            check.add(f"{name}.step", f"is {step}, but the trace has steps 0 to {step_count - 1}")
            continue
        polarity = item.get("polarity")
        if not is_int(polarity) or polarity not in (-1, 0, 1):
            check.add(f"{name}.polarity", f"must be -1, 0 or 1, got {polarity!r}")
            continue
        category = item.get("category") or ""
        if not isinstance(category, str):
            check.add(f"{name}.category", f"must be a string, got {type_name(category)}")
            continue
        unsure = item.get("unsure", False)
        if not isinstance(unsure, bool):
            check.add(f"{name}.unsure", f"must be true or false, got {type_name(unsure)}")
            continue
        if (annotator, step) in seen:
            check.add(
                f"{name}.step", f"annotator {annotator or '(source)'!r} labels step {step} twice"
            )
            continue
        seen.add((annotator, step))
        labels.append(SourceLabel(step, polarity, annotator, unsure, category))
    return labels
