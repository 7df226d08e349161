"""PRM800K records (openai/prm800k): a tree of rated candidate steps per position.

Phase 1 (no `question.pre_generated_steps`): the trace is the path through each position's
`chosen_completion`, or its `human_completion` where none was chosen; the path ends at the
first position with neither. Each step on the path carries the rating of the candidate taken
(a human completion has no rating, so it is unlabeled unless it holds a `corrected_rating`).

Phase 2: the trace is `question.pre_generated_steps`. `label.steps[k]` rates step k through
the completion whose text is that step; rating stops at the first -1, so the steps after it
are unlabeled, not positive.

Ratings -1/0/1 become negative/neutral/positive; null is no label. `flagged: true` is the
labeler's "unsure" mark. Each `labeler` (a person) is its own source annotator. Everything
else (generation, QC flags, finish_reason, total_time, the pre-generated answer and verifier
score, and the whole `label.steps` tree with its alternatives) is kept in the metadata, so an
export can rebuild the record.
"""

from __future__ import annotations

import re
from typing import Any

from labeling.importers.records import Checker, SourceLabel, TraceRecord, is_int, type_name

FORMAT = "prm800k"
_ANSWER = re.compile(r"(?:^|\n)#\s*Answer\s*\n+(.+?)\s*$", re.DOTALL)


def parse(obj: Any, *, line: int) -> TraceRecord:
    """Return the trace of one PRM800K record, or raise RecordInvalid with every problem."""
    check = Checker(line)
    record = check.record(obj)
    labeler = check.string(record, "labeler")
    timestamp = check.string(record, "timestamp")
    generation = record.get("generation")
    if generation is not None and not is_int(generation):
        check.add("generation", f"must be an integer or null, got {type_name(generation)}")
    is_qc = check.optional_bool(record, "is_quality_control_question")
    is_screening = check.optional_bool(record, "is_initial_screening_question")
    question = check.object(record.get("question"), "question") if "question" in record else None
    if "question" not in record:
        check.add("question", "missing")
    label = check.object(record.get("label"), "label") if "label" in record else None
    if "label" not in record:
        check.add("label", "missing")
    check.raise_if_any()
    assert question is not None and label is not None

    problem = check.string(question, "problem", name="question.problem")
    ground_truth = check.string(
        question, "ground_truth_answer", name="question.ground_truth_answer", required=False
    )
    finish_reason = check.string(label, "finish_reason", name="label.finish_reason", required=False)
    total_time = label.get("total_time")
    if total_time is not None and not isinstance(total_time, int | float):
        check.add("label.total_time", f"must be a number, got {type_name(total_time)}")
    label_steps = label.get("steps")
    if not isinstance(label_steps, list):
        check.add(
            "label.steps",
            "missing" if label_steps is None else f"must be a list, got {type_name(label_steps)}",
        )
        label_steps = []
    positions = [_position(check, k, s) for k, s in enumerate(label_steps)]

    metadata: dict[str, Any] = {
        "labeler": labeler,
        "timestamp": timestamp,
        "generation": generation,
        "is_quality_control_question": is_qc,
        "is_initial_screening_question": is_screening,
        "finish_reason": finish_reason,
        "total_time": total_time,
    }
    for key in ("ground_truth_solution", "pre_generated_answer", "pre_generated_verifier_score"):
        if key in question:
            metadata[key] = question[key]

    if "pre_generated_steps" in question:
        metadata["phase"] = 2
        steps = check.steps(question, "pre_generated_steps", name="question.pre_generated_steps")
        labels = _phase2_labels(check, positions, steps, labeler)
        final_answer = question.get("pre_generated_answer") or ""
        if not isinstance(final_answer, str):
            check.add(
                "question.pre_generated_answer", f"must be a string, got {type_name(final_answer)}"
            )
            final_answer = ""
    else:
        metadata["phase"] = 1
        steps, labels, sources = _phase1_path(check, positions, labeler)
        metadata["step_sources"] = sources
        match = _ANSWER.search(steps[-1]) if steps else None
        final_answer = match.group(1).strip() if match else ""
    metadata["labelings"] = [
        {
            "labeler": labeler,
            "timestamp": timestamp,
            "finish_reason": finish_reason,
            "total_time": total_time,
            "label_steps": label_steps,
        }
    ]
    check.raise_if_any()
    return TraceRecord(
        problem=problem,
        steps=steps,
        source_format=FORMAT,
        source=FORMAT,
        line=line,
        final_answer=final_answer,
        ground_truth_answer=ground_truth,
        external_id=f"{labeler}/{timestamp}",
        metadata=metadata,
        labels=labels,
    )


class _Position:
    __slots__ = ("completions", "human", "chosen")

    def __init__(
        self, completions: list[dict[str, Any]], human: dict[str, Any] | None, chosen: int | None
    ) -> None:
        self.completions = completions
        self.human = human
        self.chosen = chosen


def _position(check: Checker, k: int, value: Any) -> _Position:
    name = f"label.steps[{k}]"
    if not isinstance(value, dict):
        check.add(name, f"must be an object, got {type_name(value)}")
        return _Position([], None, None)
    completions = value.get("completions") or []
    if not isinstance(completions, list):
        check.add(f"{name}.completions", f"must be a list or null, got {type_name(completions)}")
        completions = []
    valid: list[dict[str, Any]] = []
    for i, c in enumerate(completions):
        cname = f"{name}.completions[{i}]"
        if not isinstance(c, dict):
            check.add(cname, f"must be an object, got {type_name(c)}")
            valid.append({"text": "", "rating": None, "flagged": None})
            continue
        if not isinstance(c.get("text"), str):
            check.add(
                f"{cname}.text",
                "missing"
                if "text" not in c
                else f"must be a string, got {type_name(c.get('text'))}",
            )
        _rating(check, c, cname)
        if c.get("flagged") is not None and not isinstance(c.get("flagged"), bool):
            check.add(
                f"{cname}.flagged", f"must be true, false or null, got {type_name(c['flagged'])}"
            )
        valid.append(c)
    human = value.get("human_completion")
    if isinstance(human, str):
        human = {"text": human, "rating": None}
    elif human is not None and not isinstance(human, dict):
        check.add(f"{name}.human_completion", f"must be an object or null, got {type_name(human)}")
        human = None
    elif human is not None:
        if not isinstance(human.get("text"), str):
            check.add(f"{name}.human_completion.text", "must be a string")
        _rating(check, human, f"{name}.human_completion", key="corrected_rating")
    chosen = value.get("chosen_completion")
    if chosen is not None:
        if not is_int(chosen):
            check.add(
                f"{name}.chosen_completion", f"must be an integer or null, got {type_name(chosen)}"
            )
            chosen = None
        elif not 0 <= chosen < len(valid):
            check.add(
                f"{name}.chosen_completion", f"is {chosen}, but there are {len(valid)} completions"
            )
            chosen = None
    return _Position(valid, human, chosen)


def _rating(check: Checker, obj: dict[str, Any], name: str, key: str = "rating") -> None:
    value = obj.get(key)
    if value is not None and (not is_int(value) or value not in (-1, 0, 1)):
        check.add(f"{name}.{key}", f"must be -1, 0, 1 or null, got {value!r}")


def _phase1_path(
    check: Checker, positions: list[_Position], labeler: str
) -> tuple[list[str], list[SourceLabel], list[str]]:
    steps: list[str] = []
    labels: list[SourceLabel] = []
    sources: list[str] = []
    for k, pos in enumerate(positions):
        if pos.chosen is not None:
            taken = pos.completions[pos.chosen]
            rating, source = taken.get("rating"), "model"
        elif pos.human is not None:
            taken = pos.human
            rating, source = taken.get("corrected_rating"), "human"
        else:
            break
        text = taken.get("text")
        if not isinstance(text, str):
            continue
        if not text.strip():
            check.add(f"label.steps[{k}]", "the step taken is an empty step")
        check.text(text, f"label.steps[{k}]")
        if is_int(rating) and rating in (-1, 0, 1):
            labels.append(SourceLabel(len(steps), rating, labeler, taken.get("flagged") is True))
        steps.append(text)
        sources.append(source)
    if not steps and positions:
        check.add(
            "label.steps[0]", "neither a chosen nor a human completion: the trace has no step"
        )
    elif not positions:
        check.add("label.steps", "is an empty list: a trace needs at least one step")
    return steps, labels, sources


def _phase2_labels(
    check: Checker, positions: list[_Position], steps: list[str], labeler: str
) -> list[SourceLabel]:
    labels: list[SourceLabel] = []
    if len(positions) > len(steps) and steps:
        check.add(
            "label.steps",
            f"rates {len(positions)} steps but there are {len(steps)} pre-generated steps",
        )
        return labels
    for k, pos in enumerate(positions):
        candidates = [pos.chosen] if pos.chosen is not None else []
        candidates += range(len(pos.completions))
        match = next((i for i in candidates if pos.completions[i].get("text") == steps[k]), None)
        if match is None:
            check.add(
                f"label.steps[{k}].completions",
                f"no completion is question.pre_generated_steps[{k}]",
            )
            return labels
        rated = pos.completions[match]
        rating = rated.get("rating")
        if is_int(rating) and rating in (-1, 0, 1):
            labels.append(SourceLabel(k, rating, labeler, rated.get("flagged") is True))
            if rating == -1:
                break
    return labels
