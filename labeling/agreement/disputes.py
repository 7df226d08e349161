"""Disputes for adjudication: per step and per trace, from label arrays (NumPy, no Django)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class StepDisputes:
    """One entry per labelled step, in ascending step id order."""

    step: npt.NDArray[np.int64]  # step id
    trace: npt.NDArray[np.int64]  # trace id of the step
    label_count: npt.NDArray[np.int64]  # labels on the step
    category: npt.NDArray[np.int64]  # the smallest category id given (the only one when not disputed)
    is_disputed: npt.NDArray[np.bool_]  # the labels are not all one category
    has_gold: npt.NDArray[np.bool_]

    @property
    def is_open(self) -> npt.NDArray[np.bool_]:
        """Disputed and without a gold label."""
        return self.is_disputed & ~self.has_gold

    @property
    def is_unanimous_open(self) -> npt.NDArray[np.bool_]:
        """Two or more labels, all one category, and no gold label."""
        return ~self.is_disputed & (self.label_count >= 2) & ~self.has_gold


def step_disputes(
    *,
    step: npt.ArrayLike,
    trace: npt.ArrayLike,
    category: npt.ArrayLike,
    gold_step: npt.ArrayLike,
) -> StepDisputes:
    """Return each labelled step's label count, category range and gold flag.

    One row per label (`step`, its `trace`, its `category` already mapped to the current
    taxonomy version); `gold_step` lists the steps that have a gold label. A sort and two
    reductions: a few milliseconds for 200,000 labels, where grouping them in SQL costs
    most of a page's time budget.
    """
    step_a = np.asarray(step, dtype=np.int64).reshape(-1)
    trace_a = np.asarray(trace, dtype=np.int64).reshape(-1)
    category_a = np.asarray(category, dtype=np.int64).reshape(-1)
    if step_a.size == 0:
        empty = np.empty(0, dtype=np.int64)
        no = np.empty(0, dtype=bool)
        return StepDisputes(empty, empty, empty, empty, no, no)
    # Labels usually arrive in step order already, which the stable sort handles fastest.
    order = np.argsort(step_a, kind="stable")
    step_s, category_s = step_a[order], category_a[order]
    starts = np.flatnonzero(np.r_[True, step_s[1:] != step_s[:-1]])
    low = np.minimum.reduceat(category_s, starts)
    high = np.maximum.reduceat(category_s, starts)
    steps = step_s[starts]
    return StepDisputes(
        step=steps,
        trace=trace_a[order][starts],
        label_count=np.diff(np.r_[starts, step_s.size]),
        category=low,
        is_disputed=low != high,
        has_gold=np.isin(steps, np.asarray(gold_step, dtype=np.int64).reshape(-1)),
    )


def dispute_counts_by_trace(
    disputes: StepDisputes,
) -> list[tuple[int, int, int, int]]:
    """Return (trace id, disputed, open, unanimous open step counts) of every trace with
    a disputed or unanimous open step, most disputed first (then most open, then trace id)."""
    if disputes.step.size == 0:
        return []
    traces, where = np.unique(disputes.trace, return_inverse=True)
    size = traces.size

    def per_trace(flags: np.ndarray) -> np.ndarray:
        return np.bincount(where, weights=flags, minlength=size).astype(np.int64)

    disputed = per_trace(disputes.is_disputed)
    open_ = per_trace(disputes.is_open)
    unanimous = per_trace(disputes.is_unanimous_open)
    keep = (disputed > 0) | (unanimous > 0)
    traces, disputed, open_, unanimous = traces[keep], disputed[keep], open_[keep], unanimous[keep]
    order = np.lexsort((traces, -open_, -disputed))
    return list(zip(
        traces[order].tolist(), disputed[order].tolist(), open_[order].tolist(),
        unanimous[order].tolist(), strict=True,
    ))
