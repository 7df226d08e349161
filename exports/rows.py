"""Plain rows that flow from the selectors to the pure format code; no Django."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class TraceRow:
    """One trace with its steps and, per step, the labels that passed the filters.

    `polarities[i]` holds the polarity of each label of step i (one per annotator) and
    `unsure[i]` whether any of them is marked unsure. `labels[i]` is read for the native format
    only (else None): full tuples (annotator_id, polarity, is_unsure, category key, rationale,
    labeled_at, username, is_source, seconds_spent), ordered by annotator. `gold[i]` is
    (polarity, category key, method) or None; the list is None when gold labels were not read.
    """

    id: int
    external_id: str
    problem: str
    final_answer: str
    ground_truth_answer: str
    is_outcome_correct: bool | None
    generator: str
    source_format: str
    is_qc: bool
    metadata: dict[str, Any]
    steps: list[str]
    polarities: list[list[int]]
    unsure: list[bool]
    labels: list[list[tuple[Any, ...]]] | None = None
    gold: list[tuple[Any, ...] | None] | None = None


# Positions inside a label tuple.
L_ANNOTATOR, L_POLARITY, L_UNSURE, L_CATEGORY, L_RATIONALE, L_AT, L_USERNAME, L_SOURCE, L_SECONDS = range(9)
