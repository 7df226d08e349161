"""First-error agreement: do annotators put a trace's first negative step at the same index?

Per (trace, annotator), the first error is the smallest step index the annotator labeled
negative (polarity -1), or "no error" when they labeled none negative. This covers both
labeling modes: "every step" and "stop at first error" give the same index.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labeling.agreement.bootstrap import Statistic
from labeling.agreement.data import IntArray, LabelTable, pairs_within_groups
from labeling.agreement.metrics import fleiss_kappa_from_stats, safe_divide

NO_ERROR = -1


@dataclass(frozen=True, eq=False)
class FirstErrors:
    """One row per (trace, annotator) who labeled any step of it, sorted by trace."""

    trace: IntArray
    coder: IntArray
    index: IntArray  # first negative step index, NO_ERROR when none


def first_errors(table: LabelTable) -> FirstErrors:
    """Return each annotator's first negative step index in each trace they labeled."""
    m = max(table.n_coders, 1)
    key = table.trace * m + table.coder
    big = np.iinfo(np.int64).max
    neg = table.polarity < 0
    space = table.n_traces * m
    if space <= 4 * table.n_labels + 1024:
        # Dense key space: a bincount instead of a sort.
        keys = np.nonzero(np.bincount(key, minlength=space))[0]
        dense = np.full(space, big, dtype=np.int64)
        np.minimum.at(dense, key[neg], table.step_index[neg])
        first = dense[keys]
    else:
        keys, inverse = np.unique(key, return_inverse=True)
        first = np.full(keys.size, big, dtype=np.int64)
        np.minimum.at(first, inverse[neg], table.step_index[neg])
    first[first == big] = NO_ERROR
    return FirstErrors(trace=keys // m, coder=keys % m, index=first)


def first_error_statistics(
    table: LabelTable, fe: FirstErrors | None = None
) -> dict[str, Statistic]:
    """Return additive statistics for exact match, mean distance and has-error kappa.

    Over every pair of annotators of the same trace: exact match when both first-error
    indices are equal (both "no error" counts as a match, as in ProcessBench's -1); the
    absolute distance over pairs where both found an error; and Fleiss' kappa on the binary
    "this trace has an error" with traces as items.
    """
    fe = first_errors(table) if fe is None else fe
    sizes = np.bincount(fe.trace, minlength=table.n_traces).astype(np.int64)
    left, right = pairs_within_groups(fe.trace, sizes)
    a, b = fe.index[left], fe.index[right]
    pair_trace = fe.trace[left]
    both = (a >= 0) & (b >= 0)
    entries_trace = np.concatenate([pair_trace, pair_trace, pair_trace[both], pair_trace[both]])
    entries_feature = np.concatenate(
        [
            np.zeros(left.size, np.int64),
            np.ones(left.size, np.int64),
            np.full(int(both.sum()), 2, np.int64),
            np.full(int(both.sum()), 3, np.int64),
        ]
    )
    entries_weight = np.concatenate(
        [
            np.ones(left.size),
            (a == b).astype(np.float64),
            np.ones(int(both.sum())),
            np.abs(a[both] - b[both]).astype(np.float64),
        ]
    )

    def pair_figures(s: np.ndarray) -> np.ndarray:
        return np.stack([safe_divide(s[..., 1], s[..., 0]), safe_divide(s[..., 3], s[..., 2])], axis=-1)

    # Has-error kappa: one item per trace; count errors / no-errors per trace.
    has = (fe.index >= 0).astype(np.int64)
    counts = np.zeros((table.n_traces, 2), dtype=np.float64)
    np.add.at(counts, (fe.trace, has), 1.0)
    n_t = counts.sum(axis=1)
    ok = n_t >= 2
    p_t = safe_divide((counts * (counts - 1)).sum(axis=1), n_t * (n_t - 1))
    traces = np.nonzero(ok)[0]
    k_trace = np.concatenate([traces, traces, traces, traces])
    k_feature = np.repeat(np.arange(4, dtype=np.int64), traces.size)
    k_weight = np.concatenate([p_t[ok], np.ones(traces.size), counts[ok, 0], counts[ok, 1]])
    return {
        "first_error_pairs": Statistic.from_entries(
            trace=entries_trace,
            feature=entries_feature,
            weight=entries_weight,
            n_traces=table.n_traces,
            n_features=4,
            compute=pair_figures,
        ),
        "first_error_kappa": Statistic.from_entries(
            trace=k_trace,
            feature=k_feature,
            weight=k_weight,
            n_traces=table.n_traces,
            n_features=4,
            compute=fleiss_kappa_from_stats,
        ),
    }
