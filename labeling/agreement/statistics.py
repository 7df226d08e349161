"""Additive per-trace statistics of a LabelTable, one builder per family of figures.

Each builder returns a bootstrap.Statistic: per-trace sums (so traces can be resampled) and
the function turning summed features into figures (see metrics.py for the formulas).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from labeling.agreement.bootstrap import MAX_CELLS, Statistic
from labeling.agreement.data import FloatArray, IntArray, LabelTable, weighted_bincount
from labeling.agreement.metrics import (
    cohen_kappa_from_confusion,
    fleiss_kappa_from_stats,
    percent_agreement_from_stats,
    safe_divide,
)


def nanmean_last(x: FloatArray) -> FloatArray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(x, axis=-1) if x.shape[-1] else np.full(x.shape[:-1], np.nan)


def fleiss_statistic(t: LabelTable, codes: IntArray, k: int) -> Statistic:
    """Per step with two or more labels: [P_i, 1, n_i1..n_iK], summed per trace."""
    n_i = t.labels_per_item
    counts = np.bincount(t.item * k + codes, minlength=t.n_items * k).reshape(t.n_items, k)
    ok = n_i >= 2
    c = counts[ok].astype(np.float64)
    n = n_i[ok].astype(np.float64)
    columns = np.empty((c.shape[0], 2 + k))
    columns[:, 0] = (c * (c - 1)).sum(axis=1) / (n * (n - 1))
    columns[:, 1] = 1.0
    columns[:, 2:] = c

    def compute(s: FloatArray) -> FloatArray:
        return np.stack([percent_agreement_from_stats(s), fleiss_kappa_from_stats(s)], axis=-1)

    return Statistic.from_columns(
        trace=t.item_trace[ok], columns=columns, n_traces=t.n_traces, compute=compute
    )


def coincidence_statistic(
    t: LabelTable, codes: IntArray, k: int, compute: Callable[[FloatArray], FloatArray]
) -> Statistic:
    """Coincidence counts (both orders of every label pair, weight 1 / (m_u - 1)) per trace."""
    p = t.pairs
    a, b = codes[p.left], codes[p.right]
    tr = t.trace[p.left]
    n_traces = t.n_traces
    if n_traces * k * k <= MAX_CELLS:
        # One direction, then add the transpose: half the work of counting both orders.
        half = weighted_bincount((tr * k + a) * k + b, weights=p.weight, minlength=n_traces * k * k)
        half = half.reshape(n_traces, k, k)
        dense = (half + half.transpose(0, 2, 1)).reshape(n_traces, k * k)
        return Statistic(n_traces, k * k, compute, dense=dense)
    return Statistic.from_entries(
        trace=np.concatenate([tr, tr]),
        feature=np.concatenate([a * k + b, b * k + a]),
        weight=np.concatenate([p.weight, p.weight]),
        n_traces=n_traces,
        n_features=k * k,
        compute=compute,
    )


def cohen_statistic(t: LabelTable, pair_codes: IntArray, n_pairs: int) -> Statistic:
    """Per annotator pair (lower code first), the confusion matrix of their shared steps."""
    p = t.pairs
    k = t.n_categories
    swap = t.coder[p.left] > t.coder[p.right]
    va, vb = t.value[p.left], t.value[p.right]
    va, vb = np.where(swap, vb, va), np.where(swap, va, vb)

    def compute(s: FloatArray) -> FloatArray:
        c = s.reshape(*s.shape[:-1], n_pairs, k, k)
        kappas = cohen_kappa_from_confusion(c)
        return np.concatenate([kappas, nanmean_last(kappas)[..., None]], axis=-1)

    return Statistic.from_entries(
        trace=t.trace[p.left],
        feature=pair_codes * k * k + va * k + vb,
        weight=np.ones(p.left.size),
        n_traces=t.n_traces,
        n_features=n_pairs * k * k,
        compute=compute,
    )


def per_category_statistic(t: LabelTable) -> Statistic:
    """Per category k, one-vs-rest: [sum P_i, items, n_k, n_rest, n_k(n_k-1), n_k(n_i-1)].

    Summed per trace over steps with two or more labels; the item count and n_rest come
    from per-trace totals, so only the category-dependent sums need a pass per category.
    """
    k = t.n_categories
    n_i = t.labels_per_item
    ok = n_i >= 2
    tr = t.item_trace[ok]
    c = t.item_counts[ok].astype(np.float64)
    n = n_i[ok].astype(np.float64)
    nn1 = n * (n - 1.0)
    n_traces = t.n_traces

    def per_trace(w: FloatArray) -> FloatArray:
        return weighted_bincount(tr, weights=w, minlength=n_traces)

    items = np.bincount(tr, minlength=n_traces).astype(np.float64)
    labels = per_trace(n)
    dense = np.empty((n_traces, k, 6))
    for j in range(k):
        cj = c[:, j]
        rest = n - cj
        cc1 = cj * (cj - 1.0)
        dense[:, j, 0] = per_trace((cc1 + rest * (rest - 1.0)) / nn1)
        dense[:, j, 1] = items
        dense[:, j, 2] = per_trace(cj)
        dense[:, j, 3] = labels - dense[:, j, 2]
        dense[:, j, 4] = per_trace(cc1)
        dense[:, j, 5] = per_trace(cj * (n - 1.0))

    def compute(s: FloatArray) -> FloatArray:
        x = s.reshape(*s.shape[:-1], k, 6)
        kappa = fleiss_kappa_from_stats(x[..., :4])
        specific = safe_divide(x[..., 4], x[..., 5])
        return np.stack([kappa, specific], axis=-1)

    return Statistic(n_traces, k * 6, compute, dense=dense.reshape(n_traces, k * 6))


def versus_statistic(t: LabelTable, labels: IntArray, other: IntArray) -> Statistic:
    """Per annotator: confusion of their labels (rows) against another value (columns)."""
    k, m = t.n_categories, t.n_coders

    def compute(s: FloatArray) -> FloatArray:
        c = s.reshape(*s.shape[:-1], m, k, k)
        total = c.sum(axis=(-1, -2))
        rate = safe_divide(np.trace(c, axis1=-2, axis2=-1), total)
        return np.stack([rate, cohen_kappa_from_confusion(c)], axis=-1)

    return Statistic.from_entries(
        trace=t.trace[labels],
        feature=t.coder[labels] * k * k + t.value[labels] * k + other,
        weight=np.ones(labels.size),
        n_traces=t.n_traces,
        n_features=m * k * k,
        compute=compute,
    )


def loo_consensus(t: LabelTable) -> tuple[IntArray, IntArray]:
    """Return, per label, the majority of the other labels on its step (-1 if none) and ties.

    Ties among the others' most frequent categories give -1 and tie=True: no consensus.
    """
    if t.n_labels == 0 or t.n_categories == 0:
        return np.full(t.n_labels, -1, dtype=np.int64), np.zeros(t.n_labels, dtype=bool)
    others = t.item_counts[t.item]  # fancy indexing already copies
    others[np.arange(t.n_labels), t.value] -= 1
    top = others.max(axis=1)
    n_top = (others == top[:, None]).sum(axis=1)
    has_others = t.labels_per_item[t.item] >= 2
    tie = has_others & (n_top > 1)
    consensus = np.where(has_others & ~tie, others.argmax(axis=1), -1)
    return consensus.astype(np.int64), tie
