"""Export formats: one trace row and its aggregated step labels in, one record out; pure Python.

Every function returns a dict (one JSONL line / Parquet row) or None when the trace has no
usable labels in that format; `PARQUET_SCHEMAS` in exports.writers mirrors these shapes.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from exports.aggregation import NEGATIVE, first_error_index, labelled_prefix
from exports.rows import (
    L_AT,
    L_CATEGORY,
    L_POLARITY,
    L_RATIONALE,
    L_SECONDS,
    L_SOURCE,
    L_UNSURE,
    L_USERNAME,
    TraceRow,
)

# RLHFlow's ProcessBench evaluation joins the problem and the first step with a blank line.
RLHFLOW_FIRST_TURN_JOINER = "\n\n"
# Math-Shepherd's step tag, replaced by "+" or "-" in its label string.
MATH_SHEPHERD_TAG = "ки"
_STEP_PREFIX = re.compile(r"^\s*step\s*\d+\s*[:.]", re.IGNORECASE)


@dataclass(frozen=True)
class FormatContext:
    """What a format needs besides the trace: options and export-wide facts."""

    truncate_after_error: bool = False
    aggregate: str = "majority"
    annotator_labeler: str = ""
    taxonomy_version: int | None = None
    project_slug: str = ""


def record_trl(trace: TraceRow, labels: Sequence[int | None], ctx: FormatContext) -> dict[str, Any] | None:
    """TRL stepwise supervision: prompt, completions and one boolean label per completion."""
    n = labelled_prefix(labels, truncate_after_error=ctx.truncate_after_error)
    if n == 0:
        return None
    return {
        "prompt": trace.problem,
        "completions": trace.steps[:n],
        "labels": [label > 0 for label in labels[:n]],  # type: ignore[operator]
    }


def record_rlhflow(trace: TraceRow, labels: Sequence[int | None], ctx: FormatContext) -> dict[str, Any] | None:
    """RLHFlow PRM chat: each step a user turn (the first prefixed by the problem), each
    assistant turn "+" or "-"."""
    n = labelled_prefix(labels, truncate_after_error=ctx.truncate_after_error)
    if n == 0:
        return None
    turns = []
    for i in range(n):
        text = trace.steps[i]
        if i == 0:
            text = trace.problem + RLHFLOW_FIRST_TURN_JOINER + text
        turns.append({"role": "user", "content": text})
        turns.append({"role": "assistant", "content": "+" if labels[i] > 0 else "-"})  # type: ignore[operator]
    return {"conversations": turns}


def _shepherd_step(i: int, text: str) -> str:
    text = text.strip()
    return text if _STEP_PREFIX.match(text) else f"Step {i + 1}: {text}"


def record_math_shepherd(
    trace: TraceRow, labels: Sequence[int | None], ctx: FormatContext
) -> dict[str, Any] | None:
    """Math-Shepherd: "problem Step 1: … ки\\nStep 2: … ки" and the same text with +/- tags."""
    n = labelled_prefix(labels, truncate_after_error=ctx.truncate_after_error)
    if n == 0:
        return None
    bodies = [_shepherd_step(i, trace.steps[i]) for i in range(n)]
    prompt = trace.problem.strip() + " "
    task = str(trace.metadata.get("task") or trace.source_format or ctx.project_slug)
    return {
        "input": prompt + "\n".join(f"{b} {MATH_SHEPHERD_TAG}" for b in bodies),
        "label": prompt
        + "\n".join(f"{b} {'+' if labels[i] > 0 else '-'}" for i, b in enumerate(bodies)),  # type: ignore[operator]
        "task": task,
    }


def record_processbench(
    trace: TraceRow, labels: Sequence[int | None], ctx: FormatContext
) -> dict[str, Any] | None:
    """ProcessBench: the steps and `label` = index of the first wrong step, or -1.

    A trace whose labels stop before any wrong step cannot say -1 and is left out.
    """
    label = first_error_index(labels)
    if label is None:
        return None
    steps = trace.steps[: label + 1] if ctx.truncate_after_error and label >= 0 else trace.steps
    return {
        "id": trace.external_id or f"{ctx.project_slug}-{trace.id}",
        "generator": trace.generator,
        "problem": trace.problem,
        "steps": list(steps),
        "final_answer_correct": trace.is_outcome_correct,
        "label": label,
    }


def _meta(trace: TraceRow, key: str, labeler: str = "") -> Any:
    """Read a PRM800K field kept on import: from the named labeler's own labelling when the
    trace holds several (quality-control questions), else from the trace's metadata."""
    labelings = trace.metadata.get("labelings")
    if labeler and isinstance(labelings, list):
        for labeling in labelings:
            if isinstance(labeling, dict) and labeling.get("labeler") == labeler and key in labeling:
                return labeling[key]
    if key in trace.metadata:
        return trace.metadata[key]
    nested = trace.metadata.get("prm800k")
    return nested.get(key) if isinstance(nested, dict) else None


def record_prm800k(trace: TraceRow, labels: Sequence[int | None], ctx: FormatContext) -> dict[str, Any] | None:
    """PRM800K phase-2 style: the pre-generated steps, and `label.steps` rated -1/0/1 (null when
    unlabelled) up to the last labelled step, each the chosen completion."""
    last = max((i for i, x in enumerate(labels) if x is not None), default=-1)
    if last < 0:
        return None
    if ctx.truncate_after_error:
        error = next((i for i, x in enumerate(labels) if x == NEGATIVE), None)
        if error is not None:
            last = min(last, error)
    steps = []
    for i in range(last + 1):
        steps.append({
            "completions": [
                {"text": trace.steps[i], "rating": labels[i], "flagged": bool(trace.unsure[i])}
            ],
            "human_completion": None,
            "chosen_completion": 0,
        })
    ratings = [labels[i] for i in range(last + 1)]
    who = ctx.annotator_labeler
    finish_reason = _meta(trace, "finish_reason", who)
    if NEGATIVE in ratings:
        finish_reason = "found_error"
    elif finish_reason not in ("solution", "give_up", "bad_problem"):
        finish_reason = "solution"
    generation = _meta(trace, "generation")
    total_time = _meta(trace, "total_time", who)
    timestamp = _meta(trace, "timestamp", who)
    return {
        "labeler": ctx.annotator_labeler or f"aggregate-{ctx.aggregate}",
        "timestamp": str(timestamp) if timestamp is not None else None,
        "generation": generation if isinstance(generation, int) else None,
        "is_quality_control_question": bool(_meta(trace, "is_quality_control_question") or trace.is_qc),
        "is_initial_screening_question": bool(_meta(trace, "is_initial_screening_question")),
        "question": {
            "problem": trace.problem,
            "ground_truth_answer": trace.ground_truth_answer,
            "pre_generated_steps": list(trace.steps),
            "pre_generated_answer": trace.final_answer,
        },
        "label": {
            "steps": steps,
            "total_time": total_time if isinstance(total_time, int) else 0,
            "finish_reason": finish_reason,
        },
    }


def _labeled_at(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else value.isoformat()


def record_native(
    trace: TraceRow,
    labels: Sequence[int | None],
    ctx: FormatContext,
    step_shares: Sequence[dict[str, float] | None] | None = None,
) -> dict[str, Any] | None:
    """Native: every annotator's raw labels per step, the gold label, the aggregate, and with
    soft aggregation the share of each polarity as floats."""
    if not any(trace.polarities) and not (trace.gold and any(trace.gold)):
        return None
    details = trace.labels or [[] for _ in trace.steps]
    steps = []
    for i, text in enumerate(trace.steps):
        gold = trace.gold[i] if trace.gold else None
        steps.append({
            "index": i,
            "text": text,
            "label": labels[i],
            "shares": step_shares[i] if step_shares is not None else None,
            "gold": None if gold is None else {
                "polarity": gold[0], "category": gold[1], "method": gold[2],
            },
            "annotations": [
                {
                    "annotator": lab[L_USERNAME],
                    "is_source": bool(lab[L_SOURCE]),
                    "category": lab[L_CATEGORY],
                    "polarity": lab[L_POLARITY],
                    "is_unsure": bool(lab[L_UNSURE]),
                    "rationale": lab[L_RATIONALE],
                    "labeled_at": _labeled_at(lab[L_AT]),
                    "seconds_spent": lab[L_SECONDS],
                }
                for lab in details[i]
            ],
        })
    return {
        "trace_id": trace.id,
        "external_id": trace.external_id,
        "problem": trace.problem,
        "final_answer": trace.final_answer,
        "ground_truth_answer": trace.ground_truth_answer,
        "is_outcome_correct": trace.is_outcome_correct,
        "generator": trace.generator,
        "source_format": trace.source_format,
        "is_qc": bool(trace.is_qc),
        # A JSON string: free-form metadata would give each record its own Arrow schema.
        "metadata": orjson.dumps(trace.metadata, option=orjson.OPT_SORT_KEYS).decode(),
        "taxonomy_version": ctx.taxonomy_version,
        "steps": steps,
    }


FORMATTERS: dict[str, Callable[..., dict[str, Any] | None]] = {
    "trl": record_trl,
    "rlhflow": record_rlhflow,
    "math-shepherd": record_math_shepherd,
    "processbench": record_processbench,
    "prm800k": record_prm800k,
    "native": record_native,
}
