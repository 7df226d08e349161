"""Cluster bootstrap over traces: resample traces with replacement, never single steps.

Steps of one trace are labeled together by the same people, so they are correlated; treating
them as independent would make intervals too narrow. Every statistic is a function of sums
that add up over traces (see metrics.py), so a replicate is the resample-count-weighted sum of
per-trace sums: one matrix product for all replicates instead of recomputing from labels.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labeling.agreement.data import FloatArray, IntArray, weighted_bincount

# Cap on dense cells (traces x features or resamples x traces) held at once: ~128 MB of float64.
MAX_CELLS = 16_000_000


@dataclass(eq=False)
class Statistic:
    """Sums that add up over traces, and the function turning summed features into values.

    The per-trace sums are held as a dense traces x features matrix when it fits in memory,
    else as (trace, feature, weight) entries that are summed block by block when needed.
    """

    n_traces: int
    n_features: int
    compute: Callable[[FloatArray], FloatArray]
    dense: FloatArray | None = None
    trace: IntArray | None = None
    feature: IntArray | None = None
    weight: FloatArray | None = None

    @classmethod
    def from_entries(
        cls,
        *,
        trace: IntArray,
        feature: IntArray,
        weight: FloatArray,
        n_traces: int,
        n_features: int,
        compute: Callable[[FloatArray], FloatArray],
        max_cells: int = MAX_CELLS,
    ) -> Statistic:
        """Return a statistic from additive entries: `weight` goes to (trace, feature)."""
        if n_traces * n_features <= max_cells:
            flat = weighted_bincount(
                trace * n_features + feature, weights=weight, minlength=n_traces * n_features
            )
            return cls(n_traces, n_features, compute, dense=flat.reshape(n_traces, n_features))
        return cls(n_traces, n_features, compute, trace=trace, feature=feature, weight=weight)

    @classmethod
    def from_columns(
        cls,
        *,
        trace: IntArray,
        columns: FloatArray,
        n_traces: int,
        compute: Callable[[FloatArray], FloatArray],
    ) -> Statistic:
        """Return a statistic from rows (e.g. one per step) of features, summed per trace."""
        n_features = columns.shape[1]
        if n_traces * n_features <= MAX_CELLS:
            dense = np.empty((n_traces, n_features))
            for f in range(n_features):
                dense[:, f] = weighted_bincount(trace, weights=columns[:, f], minlength=n_traces)
            return cls(n_traces, n_features, compute, dense=dense)
        rows, cols = np.nonzero(columns)
        return cls.from_entries(
            trace=trace[rows], feature=cols.astype(np.int64), weight=columns[rows, cols],
            n_traces=n_traces, n_features=n_features, compute=compute,
        )

    def totals(self) -> FloatArray:
        if self.dense is not None:
            sums: FloatArray = self.dense.sum(axis=0)  # numpy's stubs type axis reductions as Any
            return sums
        assert self.feature is not None and self.weight is not None
        return weighted_bincount(self.feature, weights=self.weight, minlength=self.n_features)

    def point(self) -> FloatArray:
        return self.compute(self.totals())

    def blocks(self, max_cells: int) -> Iterator[tuple[slice, FloatArray]]:
        """Yield (feature slice, traces x features sums) in blocks that fit in memory."""
        if self.dense is not None:
            yield slice(0, self.n_features), self.dense
            return
        assert self.trace is not None and self.feature is not None and self.weight is not None
        n_traces = self.n_traces
        width = max(1, min(self.n_features, max_cells // max(n_traces, 1)))
        for lo in range(0, self.n_features, width):
            hi = min(lo + width, self.n_features)
            keep = (self.feature >= lo) & (self.feature < hi)
            dense = weighted_bincount(
                self.trace[keep] * (hi - lo) + (self.feature[keep] - lo),
                weights=self.weight[keep],
                minlength=n_traces * (hi - lo),
            )
            yield slice(lo, hi), dense.reshape(n_traces, hi - lo)


def resample_counts(n_traces: int, n_resamples: int, rng: np.random.Generator) -> FloatArray:
    """Return a resamples x traces matrix: how often each trace is drawn in each replicate."""
    draws = rng.integers(0, n_traces, size=(n_resamples, n_traces))
    rows = np.arange(n_resamples, dtype=np.int64)[:, None] * n_traces
    flat = np.bincount((rows + draws).ravel(), minlength=n_resamples * n_traces)
    return flat.reshape(n_resamples, n_traces).astype(np.float64)


def bootstrap(
    statistics: dict[str, Statistic],
    *,
    n_traces: int,
    n_resamples: int,
    seed: int,
    max_cells: int = MAX_CELLS,
) -> dict[str, FloatArray]:
    """Return, per statistic, its values over `n_resamples` trace resamples (axis 0).

    Seeded with numpy's default Generator, so the same data, seed and count give the same
    replicates. Replicates are drawn in chunks of rows to bound memory.
    """
    if n_traces == 0 or n_resamples <= 0:
        return {name: np.empty((0,)) for name in statistics}
    rng = np.random.default_rng(seed)
    chunk = max(1, max_cells // n_traces)
    cached: dict[str, list[tuple[slice, FloatArray]]] = {}
    for name, stat in statistics.items():
        if stat.dense is not None:
            cached[name] = list(stat.blocks(max_cells))
    out: dict[str, list[FloatArray]] = {name: [] for name in statistics}
    for start in range(0, n_resamples, chunk):
        counts = resample_counts(n_traces, min(chunk, n_resamples - start), rng)
        for name, stat in statistics.items():
            sums = np.empty((counts.shape[0], stat.n_features))
            for cols, dense in cached.get(name) or stat.blocks(max_cells):
                sums[:, cols] = counts @ dense
            out[name].append(stat.compute(sums))
    return {name: np.concatenate(parts, axis=0) for name, parts in out.items()}


def percentile_interval(
    samples: npt.ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Return the percentile interval over axis 0, ignoring undefined replicates (NaN)."""
    s = np.asarray(samples, dtype=np.float64)
    tail = (1.0 - confidence) / 2.0 * 100.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low = np.nanpercentile(s, tail, axis=0)
        high = np.nanpercentile(s, 100.0 - tail, axis=0)
    return low, high
