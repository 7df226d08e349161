"""Agreement statistics as functions of summed counts, vectorised over leading axes.

Each statistic is written as f(sums): the sums are additive over traces, so the point estimate
is f(sum over all traces) and a bootstrap replicate is f(weighted sum over resampled traces).
An undefined statistic (no pairable data, chance agreement 1) is NaN here; report.py says why.
"""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

from labeling.agreement.data import FloatArray, LabelTable, weighted_bincount

_EPS = 1e-12


def safe_divide(num: npt.ArrayLike, den: npt.ArrayLike) -> FloatArray:
    """Return num / den elementwise, NaN where the denominator is (numerically) zero."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    return np.where(np.abs(den) > _EPS, out, np.nan)


# --- Cohen's kappa ------------------------------------------------------------------------


def cohen_kappa_from_confusion(confusion: npt.ArrayLike) -> FloatArray:
    """Return Cohen's kappa from confusion matrices of shape (..., K, K) (Cohen 1960).

    kappa = (p_o - p_e) / (1 - p_e), with p_o the share on the diagonal and p_e the sum of
    the products of the two raters' marginal shares. NaN when p_e = 1 (one shared category)
    or when the matrix is empty.
    """
    c = np.asarray(confusion, dtype=np.float64)
    n = c.sum(axis=(-1, -2))
    p_o = safe_divide(np.trace(c, axis1=-2, axis2=-1), n)
    rows = safe_divide(c.sum(axis=-1), n[..., None])
    cols = safe_divide(c.sum(axis=-2), n[..., None])
    p_e = (rows * cols).sum(axis=-1)
    return safe_divide(p_o - p_e, 1.0 - p_e)


def confusion_matrix(a: npt.ArrayLike, b: npt.ArrayLike, n_categories: int) -> FloatArray:
    """Return the K x K count matrix of paired codes (rows: a, columns: b)."""
    a_ = np.asarray(a, dtype=np.int64)
    b_ = np.asarray(b, dtype=np.int64)
    k = n_categories
    return np.bincount(a_ * k + b_, minlength=k * k).reshape(k, k).astype(np.float64)


def cohen_kappa(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Return Cohen's kappa of two raters' codes on the same items (Cohen 1960)."""
    values, codes = np.unique(np.concatenate([np.asarray(a), np.asarray(b)]), return_inverse=True)
    n = np.asarray(a).size
    return float(cohen_kappa_from_confusion(confusion_matrix(codes[:n], codes[n:], values.size)))


# --- Fleiss' kappa and percent agreement ---------------------------------------------------


def fleiss_stats(counts: npt.ArrayLike) -> FloatArray:
    """Return the additive sums [sum P_i, items, n_1..n_K] of an items x categories matrix.

    Only items with two or more labels count. P_i is the share of agreeing ordered pairs of
    labels on item i, sum_k n_ik (n_ik - 1) / (n_i (n_i - 1)) (Fleiss 1971, eq. 2).
    """
    c = np.asarray(counts, dtype=np.float64)
    n_i = c.sum(axis=-1)
    ok = n_i >= 2
    p_i = safe_divide((c * (c - 1)).sum(axis=-1), n_i * (n_i - 1))
    return np.concatenate(
        [[np.where(ok, p_i, 0.0).sum()], [ok.sum()], c[ok].sum(axis=0)]
    ).astype(np.float64)


def percent_agreement_from_stats(stats: npt.ArrayLike) -> FloatArray:
    """Return the mean over items of the share of agreeing label pairs (Fleiss 1971, P-bar)."""
    s = np.asarray(stats, dtype=np.float64)
    return safe_divide(s[..., 0], s[..., 1])


def fleiss_kappa_from_stats(stats: npt.ArrayLike) -> FloatArray:
    """Return Fleiss' kappa from [sum P_i, items, n_1..n_K] sums (Fleiss 1971).

    kappa = (P-bar - P-bar_e) / (1 - P-bar_e), P-bar_e = sum_j p_j^2 with p_j the share of
    category j among all labels. Fleiss defined it for a constant number of raters per item;
    with unequal numbers this is the usual generalisation by proportions: P_i uses each
    item's own n_i and p_j pools all labels of pairable items. With equal numbers it is
    exactly Fleiss' statistic (statsmodels' fleiss_kappa).
    """
    s = np.asarray(stats, dtype=np.float64)
    p_bar = safe_divide(s[..., 0], s[..., 1])
    cat = s[..., 2:]
    p_j = safe_divide(cat, cat.sum(axis=-1, keepdims=True))
    p_e = (p_j * p_j).sum(axis=-1)
    return safe_divide(p_bar - p_e, 1.0 - p_e)


def fleiss_kappa(counts: npt.ArrayLike) -> float:
    """Return Fleiss' kappa of an items x categories count matrix (Fleiss 1971)."""
    return float(fleiss_kappa_from_stats(fleiss_stats(counts)))


# --- Krippendorff's alpha ------------------------------------------------------------------

LEVELS = ("nominal", "ordinal", "interval")


def _squared_distance(marginals: FloatArray, level: str, values: FloatArray) -> FloatArray:
    """Return delta^2 for every value pair, shape (..., K, K) (Krippendorff 2011, sec. 3)."""
    k = marginals.shape[-1]
    i, j = np.indices((k, k))
    if level == "nominal":
        return np.broadcast_to((i != j).astype(np.float64), (*marginals.shape[:-1], k, k))
    if level == "interval":
        d = values[:, None] - values[None, :]
        return np.broadcast_to(d * d, (*marginals.shape[:-1], k, k))
    if level == "ordinal":
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        cum = np.cumsum(marginals, axis=-1)
        between = cum[..., hi] - cum[..., lo] + marginals[..., lo]
        d = between - (marginals[..., i] + marginals[..., j]) / 2.0
        return d * d
    raise ValueError(f"level must be one of {LEVELS}, not {level!r}")


def krippendorff_alpha_from_coincidence(
    coincidence: npt.ArrayLike, level: str = "nominal", values: npt.ArrayLike | None = None
) -> FloatArray:
    """Return Krippendorff's alpha from coincidence matrices (..., K, K) (Krippendorff 2011).

    alpha = 1 - D_o / D_e = 1 - (n - 1) sum o_ck d2_ck / sum n_c n_k d2_ck, where o is the
    coincidence matrix (each pair of values in a unit weighted 1 / (m_u - 1)) and n_c its
    marginals. Values are ordered by index; `values` are the numbers for the interval level.
    NaN when fewer than two pairable values or no expected disagreement.
    """
    o = np.asarray(coincidence, dtype=np.float64)
    k = o.shape[-1]
    marg = o.sum(axis=-1)
    n = marg.sum(axis=-1)
    vals = np.arange(k, dtype=np.float64) if values is None else np.asarray(values, np.float64)
    d2 = _squared_distance(marg, level, vals)
    observed = (o * d2).sum(axis=(-1, -2))
    expected = (marg[..., :, None] * marg[..., None, :] * d2).sum(axis=(-1, -2))
    alpha = 1.0 - safe_divide((n - 1.0) * observed, expected)
    return np.where(n >= 2, alpha, np.nan)


def coincidence_matrix(table: LabelTable, by: str = "value") -> FloatArray:
    """Return the K x K coincidence matrix of the table's values or polarities."""
    codes, k = value_codes(table, by)
    p = table.pairs
    a, b = codes[p.left], codes[p.right]
    flat = weighted_bincount(a * k + b, weights=p.weight, minlength=k * k)
    flat += weighted_bincount(b * k + a, weights=p.weight, minlength=k * k)
    return flat.reshape(k, k)


POLARITY_VALUES = (-1, 0, 1)


def value_codes(table: LabelTable, by: str) -> tuple[np.ndarray, int]:
    """Return (codes, number of codes): category codes, or polarity -1/0/1 as 0/1/2."""
    if by == "value":
        return table.value, table.n_categories
    if by == "polarity":
        return table.polarity + 1, len(POLARITY_VALUES)
    raise ValueError(f"by must be 'value' or 'polarity', not {by!r}")


def krippendorff_alpha(table: LabelTable, level: str = "nominal", by: str = "value") -> float:
    """Return Krippendorff's alpha of the table (Krippendorff 2011), with missing data."""
    vals = np.asarray(POLARITY_VALUES, dtype=np.float64) if by == "polarity" else None
    return float(krippendorff_alpha_from_coincidence(coincidence_matrix(table, by), level, vals))
