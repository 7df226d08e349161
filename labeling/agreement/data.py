"""LabelTable: step labels as parallel integer arrays, and the coder pairs that share a step."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def weighted_bincount(x: npt.ArrayLike, weights: npt.ArrayLike, minlength: int = 0) -> FloatArray:
    """Return np.bincount with weights, typed as the float64 it is (numpy's stubs say intp)."""
    return np.bincount(x, weights=weights, minlength=minlength).astype(np.float64, copy=False)


def _codes(raw: npt.ArrayLike) -> tuple[np.ndarray, IntArray]:
    """Return (sorted unique values, code of each element).

    Database ids are dense integers: a bincount over their range replaces the sort that
    np.unique needs, which matters at a million labels.
    """
    arr = np.asarray(raw).reshape(-1)
    if arr.size and arr.dtype.kind in "iu":
        low = int(arr.min())
        span = int(arr.max()) - low + 1
        if span <= 4 * arr.size + 1024:
            shifted = (arr - low).astype(np.int64)
            present = np.bincount(shifted, minlength=span) > 0
            code_of = np.cumsum(present) - 1
            return np.nonzero(present)[0] + low, code_of[shifted].astype(np.int64)
    values, codes = np.unique(arr, return_inverse=True)
    return values, codes.astype(np.int64).reshape(-1)


def pairs_within_groups(group: IntArray, sizes: IntArray) -> tuple[IntArray, IntArray]:
    """Return positions (left < right) of every pair of elements in the same group.

    `group` must be sorted and `sizes[g]` count its elements. Small groups (the usual 2-5
    annotators of a step) pair element j with j + d for each offset d; large groups use
    repeat: the partners of the element at rank r of a group of size n are the next n - 1 - r.
    """
    n = group.size
    largest = int(sizes.max()) if sizes.size else 0
    if largest <= 16:
        lefts = [np.nonzero(group[:-d] == group[d:])[0] for d in range(1, largest)]
        if not lefts:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        rights = [j + d for d, j in enumerate(lefts, start=1)]
        return np.concatenate(lefts).astype(np.int64), np.concatenate(rights).astype(np.int64)
    start = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    rank = np.arange(n, dtype=np.int64) - start[group]
    partners = sizes[group] - 1 - rank
    left = np.repeat(np.arange(n, dtype=np.int64), partners)
    offsets = np.cumsum(partners) - partners
    right = left + 1 + (np.arange(left.size, dtype=np.int64) - np.repeat(offsets, partners))
    return left, right


@dataclass(frozen=True, eq=False)
class Pairs:
    """Every unordered pair of labels on the same item: label positions `left` < `right`."""

    left: IntArray
    right: IntArray
    weight: FloatArray  # 1 / (n_item - 1): Krippendorff's pairable-value weight


@dataclass(eq=False)
class LabelTable:
    """Labels as arrays sorted by item; item = step, coder = annotator, value = category code.

    `polarity` is the ordered value (-1 < 0 < 1) used by ordinal and interval alpha.
    Gold labels, when known, are per item: `gold_value[item]` is a category code or -1.
    """

    item: IntArray
    trace: IntArray
    step_index: IntArray
    coder: IntArray
    value: IntArray
    polarity: IntArray
    item_trace: IntArray
    coders: tuple[str, ...]
    categories: tuple[str, ...]
    gold_value: IntArray
    gold_polarity: IntArray
    traces: tuple[int, ...] = field(default=())

    @classmethod
    def from_arrays(
        cls,
        *,
        item: npt.ArrayLike,
        coder: npt.ArrayLike,
        value: npt.ArrayLike,
        trace: npt.ArrayLike | None = None,
        step_index: npt.ArrayLike | None = None,
        polarity: npt.ArrayLike | None = None,
        coder_names: Mapping[object, str] | None = None,
        categories: Sequence[str] | None = None,
        gold_item: npt.ArrayLike | None = None,
        gold_value: npt.ArrayLike | None = None,
        gold_polarity: npt.ArrayLike | None = None,
    ) -> LabelTable:
        """Build a table from raw ids (any sortable values) of equal length, one row per label.

        `value` holds category codes 0..len(categories)-1 when `categories` is given, else any
        sortable values (their sorted unique values become the categories). Without `trace`,
        every item is its own trace; without `polarity`, the value codes are the order.
        One label per (item, coder) is expected, as the database guarantees.
        """
        item_raw = np.asarray(item).reshape(-1)
        n = item_raw.size
        coder_raw = np.asarray(coder).reshape(-1)
        value_raw = np.asarray(value).reshape(-1)
        for name, arr in (("coder", coder_raw), ("value", value_raw)):
            if arr.size != n:
                raise ValueError(f"{name} has {arr.size} elements, item has {n}")
        item_ids, item_codes = _codes(item_raw)
        order = np.argsort(item_codes, kind="stable")
        item_codes = item_codes[order]
        coder_ids, coder_codes = _codes(coder_raw[order])
        if categories is None:
            category_values, value_codes = _codes(value_raw[order])
            category_names = tuple(str(v) for v in category_values)
        else:
            value_codes = value_raw[order].astype(np.int64)
            category_names = tuple(categories)
            if n and (value_codes.min() < 0 or value_codes.max() >= len(category_names)):
                raise ValueError("value codes must index `categories`")
        if trace is None:
            trace_ids, trace_codes = item_ids, item_codes
        else:
            trace_ids, trace_codes = _codes(np.asarray(trace).reshape(-1)[order])
        step = (
            np.zeros(n, dtype=np.int64)
            if step_index is None
            else np.asarray(step_index, dtype=np.int64).reshape(-1)[order]
        )
        pol = value_codes if polarity is None else np.asarray(polarity, dtype=np.int64)[order]
        item_trace = np.zeros(item_ids.size, dtype=np.int64)
        item_trace[item_codes] = trace_codes
        names = coder_names or {}
        gold_v = np.full(item_ids.size, -1, dtype=np.int64)
        gold_p = np.zeros(item_ids.size, dtype=np.int64)
        if gold_item is not None and gold_value is not None and item_ids.size:
            g_item = np.asarray(gold_item).reshape(-1)
            g_val = np.asarray(gold_value).reshape(-1)
            if categories is None:
                g_val = np.searchsorted(category_values, g_val)
            g_pol = g_val if gold_polarity is None else np.asarray(gold_polarity).reshape(-1)
            pos = np.searchsorted(item_ids, g_item)
            known = (pos < item_ids.size) & (item_ids[np.minimum(pos, item_ids.size - 1)] == g_item)
            gold_v[pos[known]] = g_val[known]
            gold_p[pos[known]] = g_pol[known]
        return cls(
            item=item_codes,
            trace=trace_codes,
            step_index=step,
            coder=coder_codes,
            value=value_codes,
            polarity=pol.astype(np.int64),
            item_trace=item_trace,
            coders=tuple(names.get(c, str(c)) for c in coder_ids.tolist()),
            categories=category_names,
            gold_value=gold_v,
            gold_polarity=gold_p,
            traces=tuple(trace_ids.tolist()),
        )

    @property
    def n_labels(self) -> int:
        return int(self.item.size)

    @property
    def n_items(self) -> int:
        return int(self.item_trace.size)

    @property
    def n_traces(self) -> int:
        return int(self.item_trace.max()) + 1 if self.item_trace.size else 0

    @property
    def n_coders(self) -> int:
        return len(self.coders)

    @property
    def n_categories(self) -> int:
        return len(self.categories)

    @cached_property
    def labels_per_item(self) -> IntArray:
        return np.bincount(self.item, minlength=self.n_items).astype(np.int64)

    @cached_property
    def item_counts(self) -> IntArray:
        """Return the items x categories matrix of label counts."""
        k = self.n_categories
        flat = np.bincount(self.item * k + self.value, minlength=self.n_items * k)
        return flat.reshape(self.n_items, k).astype(np.int64)

    @property
    def n_pairable_items(self) -> int:
        return int((self.labels_per_item >= 2).sum())

    @cached_property
    def pairs(self) -> Pairs:
        """Return every unordered pair of labels sharing an item."""
        left, right = pairs_within_groups(self.item, self.labels_per_item)
        weight = 1.0 / (self.labels_per_item[self.item[left]] - 1)
        return Pairs(left=left, right=right, weight=weight)
