"""Turn each step's annotator labels into one exported label; pure Python, no Django.

Labels are polarities: 1 positive, 0 neutral, -1 negative; None means "no label".
A step's raw labels arrive as a list of polarities, one per annotator (see exports.rows).

Order of operations, the same for every format:
1. keep the step's labels from at least `min_annotators` annotators, else the step is unlabelled
   (majority, unanimous and soft only; gold and one-annotator exports have one label per step);
2. aggregate on the three polarities;
3. apply the neutral policy to the aggregate: positive, negative, drop (becomes unlabelled) or
   keep (three-valued formats only).

Tie rule for majority: among the most frequent polarities the most negative one wins
(a 1/1 split of positive and negative is negative; positive and neutral is neutral). A PRM
that trusts a disputed step is worse than one that doubts it, and the rule is deterministic.
"""
from __future__ import annotations

from collections.abc import Sequence

POSITIVE, NEUTRAL, NEGATIVE = 1, 0, -1
POLARITY_NAMES = {POSITIVE: "positive", NEUTRAL: "neutral", NEGATIVE: "negative"}


def majority(polarities: Sequence[int]) -> int | None:
    """Return the most frequent polarity; ties go to the most negative; None when empty."""
    n = len(polarities)
    if n == 0:
        return None
    first = polarities[0]
    if n == 1:
        return first
    if n == 2:
        # The hot path of a two-annotator project: agreement, or a tie won by the lower label.
        second = polarities[1]
        return first if first <= second else second
    pos = neg = neu = 0
    for p in polarities:
        if p == 1:
            pos += 1
        elif p == -1:
            neg += 1
        else:
            neu += 1
    top = max(pos, neg, neu)
    if neg == top:
        return NEGATIVE
    if neu == top:
        return NEUTRAL
    return POSITIVE


def unanimous(polarities: Sequence[int]) -> int | None:
    """Return the polarity every annotator gave, or None when they differ or there is none."""
    if not polarities:
        return None
    first = polarities[0]
    for p in polarities:
        if p != first:
            return None
    return first


def shares(polarities: Sequence[int]) -> dict[str, float] | None:
    """Return the share of positive, neutral and negative labels, or None when there is none."""
    n = len(polarities)
    if n == 0:
        return None
    return {
        "negative": round(sum(1 for p in polarities if p == -1) / n, 6),
        "neutral": round(sum(1 for p in polarities if p == 0) / n, 6),
        "positive": round(sum(1 for p in polarities if p == 1) / n, 6),
    }


def neutral_apply(label: int | None, policy: str) -> int | None:
    """Return the label after the neutral policy (positive / negative / drop / keep)."""
    if label != NEUTRAL:
        return label
    if policy == "positive":
        return POSITIVE
    if policy == "negative":
        return NEGATIVE
    if policy == "drop":
        return None
    return NEUTRAL


def step_labels_aggregate(
    polarities: Sequence[Sequence[int]],
    *,
    method: str,
    neutral: str,
    min_annotators: int = 1,
    gold: Sequence[int | None] | None = None,
) -> list[int | None]:
    """Return one label per step from each step's raw polarities.

    `method` is majority, unanimous, soft (aggregated as majority; the shares come from
    `shares`), gold (reads `gold`) or annotator (the step's only label: the rows were already
    filtered to one person).
    """
    labels: list[int | None]
    if method == "gold":
        labels = list(gold) if gold is not None else [None] * len(polarities)
    elif method == "annotator":
        labels = [p[0] if p else None for p in polarities]
    else:
        choose = unanimous if method == "unanimous" else majority
        labels = [choose(p) if len(p) >= min_annotators else None for p in polarities]
    if neutral != "keep":
        labels = [neutral_apply(x, neutral) for x in labels]
    return labels


def labelled_prefix(labels: Sequence[int | None], *, truncate_after_error: bool) -> int:
    """Return how many leading steps carry a label; with truncation, stop after the first negative.

    A step without a label ends the prefix: binary formats give every completion a label, and
    a later label is about a reasoning prefix that holds an unlabelled step.
    """
    n = 0
    for label in labels:
        if label is None:
            break
        n += 1
        if truncate_after_error and label == NEGATIVE:
            break
    return n


def first_error_index(labels: Sequence[int | None]) -> int | None:
    """Return the 0-based index of the first negative step, -1 when every step is labelled and
    none is negative, or None when an unlabelled step comes before any negative one."""
    for i, label in enumerate(labels):
        if label is None:
            return None
        if label == NEGATIVE:
            return i
    return -1


def is_fully_labelled(labels: Sequence[int | None]) -> bool:
    """Return whether every step is labelled, or labels stop right after the first negative step
    (first-error labelling: later steps are unlabelled by design)."""
    return first_error_index(labels) is not None


class AgreementTally:
    """Running agreement over steps with two or more labels (3 polarities).

    Steps are counted by their pattern of labels, so a million steps cost one dict update each.
    Fleiss' kappa with a varying number of raters per item: P_i = (sum_j n_ij^2 - n_i) /
    (n_i (n_i - 1)), P_e = sum_j p_j^2 with p_j pooled over all ratings (Fleiss 1971, eq. 2-5).
    """

    def __init__(self) -> None:
        self.patterns: dict[tuple[int, ...], int] = {}

    def add(self, polarities: Sequence[int]) -> None:
        """Count one step's labels (fewer than two are ignored)."""
        if len(polarities) > 1:
            key = tuple(polarities)
            self.patterns[key] = self.patterns.get(key, 0) + 1

    def add_steps(self, steps: Sequence[Sequence[int]]) -> None:
        """Count the labels of several steps."""
        patterns = self.patterns
        for polarities in steps:
            if len(polarities) > 1:
                key = tuple(polarities)
                patterns[key] = patterns.get(key, 0) + 1

    def summary(self) -> dict[str, float | int | None]:
        """Return steps compared, share with unanimous labels, mean pairwise agreement, kappa."""
        items = unanimous_items = 0
        sum_p_i = 0.0
        totals = {1: 0, 0: 0, -1: 0}
        for pattern, count in self.patterns.items():
            n = len(pattern)
            counts = {1: 0, 0: 0, -1: 0}
            for p in pattern:
                counts[p] += 1
            items += count
            if max(counts.values()) == n:
                unanimous_items += count
            sum_p_i += count * (sum(c * c for c in counts.values()) - n) / (n * (n - 1))
            for k, c in counts.items():
                totals[k] += c * count
        if items == 0:
            return {"steps_with_2plus_labels": 0, "unanimous_share": None,
                    "pairwise_agreement": None, "fleiss_kappa": None}
        p_bar = sum_p_i / items
        ratings = sum(totals.values())
        p_e = sum((c / ratings) ** 2 for c in totals.values())
        kappa = None if p_e == 1 else (p_bar - p_e) / (1 - p_e)
        return {
            "steps_with_2plus_labels": items,
            "unanimous_share": round(unanimous_items / items, 6),
            "pairwise_agreement": round(p_bar, 6),
            "fleiss_kappa": None if kappa is None else round(kappa, 6),
        }
