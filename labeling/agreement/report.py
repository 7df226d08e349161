"""Compose every agreement figure of a LabelTable into one JSON-able dict.

Each figure is {"value": float} (plus "ci_low"/"ci_high" when a bootstrap was asked) or
{"value": None, "reason": "..."}: an undefined figure always says why, never a bare NaN.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from labeling.agreement.bootstrap import Statistic, bootstrap, percentile_interval
from labeling.agreement.data import FloatArray, LabelTable
from labeling.agreement.first_error import first_error_statistics, first_errors
from labeling.agreement.metrics import POLARITY_VALUES, krippendorff_alpha_from_coincidence
from labeling.agreement.statistics import (
    cohen_statistic,
    coincidence_statistic,
    fleiss_statistic,
    loo_consensus,
    per_category_statistic,
    versus_statistic,
)

NOTES = {
    "items": "An item is a step; a coder is an annotator; values are category keys.",
    "percent_agreement": "Mean over steps with two or more labels of the share of agreeing "
    "label pairs (Fleiss' P-bar).",
    "fleiss_kappa": "Fleiss (1971); with unequal numbers of annotators per step, the "
    "generalisation by proportions: each step's agreement uses its own number of labels and "
    "category shares pool all labels of steps with two or more labels. Equals Fleiss' kappa "
    "when every step has the same number of labels.",
    "krippendorff_alpha": "Krippendorff (2011), with missing data: nominal on categories, "
    "ordinal and interval on polarity (-1 < 0 < 1).",
    "consensus": "Leave-one-out majority of the other annotators' labels on the step; a step "
    "where the others tie is left out of that comparison (counted in n_ties).",
    "first_error": "First error = smallest step index labeled negative by the annotator, or "
    "none. Exact match over annotator pairs of a trace (both none is a match); distance over "
    "pairs where both found an error; kappa = Fleiss on 'this trace has an error'.",
    "cohen_kappa_mean": "Unweighted mean of the pairwise kappas that are defined.",
    "per_category": "One category against the rest: Fleiss' kappa on the binary labels, and "
    "specific agreement = agreeing pairs on the category / pairs with at least one of it.",
    "bootstrap": "Percentile intervals from resampling traces with replacement (steps of a "
    "trace move together); replicates where a figure is undefined are left out and counted.",
}


class _Builder:
    """Holds the statistics of one table and turns point values and replicates into figures."""

    def __init__(self, table: LabelTable) -> None:
        self.t = table
        self.stats: dict[str, Statistic] = {}
        self.points: dict[str, FloatArray] = {}
        self.samples: dict[str, FloatArray] | None = None
        self.confidence = 0.95

    def add(self, name: str, stat: Statistic) -> None:
        self.stats[name] = stat
        self.points[name] = stat.point()

    def run_bootstrap(self, n_resamples: int, seed: int, confidence: float) -> None:
        self.confidence = confidence
        self.samples = bootstrap(
            self.stats, n_traces=self.t.n_traces, n_resamples=n_resamples, seed=seed
        )

    def figure(
        self,
        name: str,
        index: tuple[int, ...] | int,
        reason: str | Callable[[], str],
        **extra: Any,
    ) -> dict[str, Any]:
        """Return one figure: value (+ interval) or a null value with the reason."""
        value = float(self.points[name][index])
        if math.isnan(value):
            text = reason if isinstance(reason, str) else reason()
            return {"value": None, "reason": text, **extra}
        out: dict[str, Any] = {"value": value, **extra}
        if self.samples is not None:
            reps = self._reps(name, index)
            defined = reps[~np.isnan(reps)]
            if defined.size == 0:
                out.update(ci_low=None, ci_high=None, ci_reason="undefined in every resample")
            else:
                low, high = percentile_interval(defined, self.confidence)
                out.update(ci_low=float(low), ci_high=float(high))
                if defined.size < reps.size:
                    out["ci_resamples_defined"] = int(defined.size)
        return out

    def _reps(self, name: str, index: tuple[int, ...] | int) -> FloatArray:
        assert self.samples is not None
        idx = index if isinstance(index, tuple) else (index,)
        key: tuple[slice | int, ...] = (slice(None), *idx)
        return self.samples[name][key]


# --- report -------------------------------------------------------------------------------


def agreement_report(
    table: LabelTable,
    *,
    n_resamples: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Return every agreement figure of the table as a JSON-able dict (see NOTES)."""
    t = table
    k, m = t.n_categories, t.n_coders
    b = _Builder(t)
    b.add("fleiss", fleiss_statistic(t, t.value, k))
    b.add(
        "alpha_nominal",
        coincidence_statistic(
            t, t.value, k,
            lambda s: krippendorff_alpha_from_coincidence(
                s.reshape(*s.shape[:-1], k, k), "nominal"
            ),
        ),
    )
    pol = t.polarity + 1
    pol_values = np.asarray(POLARITY_VALUES, dtype=np.float64)

    def polarity_alphas(s: FloatArray) -> FloatArray:
        o = s.reshape(*s.shape[:-1], 3, 3)
        return np.stack(
            [
                krippendorff_alpha_from_coincidence(o, "ordinal", pol_values),
                krippendorff_alpha_from_coincidence(o, "interval", pol_values),
            ],
            axis=-1,
        )

    b.add("alpha_polarity", coincidence_statistic(t, pol, 3, polarity_alphas))

    p = t.pairs
    ca, cb = np.minimum(t.coder[p.left], t.coder[p.right]), np.maximum(
        t.coder[p.left], t.coder[p.right]
    )
    pair_key = ca * max(m, 1) + cb
    pair_n_all = np.bincount(pair_key, minlength=m * m)
    pair_keys = np.nonzero(pair_n_all)[0]
    lookup = np.full(m * m, -1, dtype=np.int64)
    lookup[pair_keys] = np.arange(pair_keys.size)
    pair_codes = lookup[pair_key]
    n_pairs = int(pair_keys.size)
    b.add("cohen", cohen_statistic(t, pair_codes, n_pairs))
    b.add("per_category", per_category_statistic(t))
    consensus, tie = loo_consensus(t)
    with_consensus = np.nonzero(consensus >= 0)[0]
    b.add("consensus", versus_statistic(t, with_consensus, consensus[with_consensus]))
    gold = t.gold_value[t.item]
    with_gold = np.nonzero(gold >= 0)[0]
    b.add("gold", versus_statistic(t, with_gold, gold[with_gold]))
    fe = first_errors(t)
    for name, stat in first_error_statistics(t, fe).items():
        b.add(name, stat)
    if n_resamples > 0:
        b.run_bootstrap(n_resamples, seed, confidence)

    base = _base_reason(t)
    def same() -> str:
        return base or _same_value_reason(t)

    def same_pol() -> str:
        return base or _same_polarity_reason(t)
    pair_n = pair_n_all[pair_keys]
    cohen_totals = b.stats["cohen"].totals().reshape(n_pairs, k, k)

    pairs_out: list[dict[str, Any]] = []
    pair_index = {int(key): i for i, key in enumerate(pair_keys.tolist())}
    for a_ in range(m):
        for c_ in range(a_ + 1, m):
            names = {"annotator_a": t.coders[a_], "annotator_b": t.coders[c_]}
            i = pair_index.get(a_ * m + c_)
            if i is None:
                pairs_out.append(
                    {**names, "n_items": 0, "value": None, "reason": "no shared steps"}
                )
                continue
            pairs_out.append(
                {
                    **names,
                    **b.figure(
                        "cohen", i,
                        "chance agreement is 1: both annotators gave the same single category "
                        "on every shared step",
                        n_items=int(pair_n[i]),
                    ),
                }
            )
    kappa_mean = b.figure(
        "cohen", n_pairs,
        base or "every annotator pair's kappa is undefined", n_pairs=n_pairs,
    )

    fe_pairs = b.stats["first_error_pairs"].totals()
    if t.n_labels == 0 or m < 2:
        fe_reason = base or "no labels"
    else:
        fe_reason = "no trace was labeled by two or more annotators"
    first_error = {
        "n_traces": int(np.unique(fe.trace).size),
        "n_pairs": int(fe_pairs[0]),
        "exact_match": b.figure("first_error_pairs", 0, fe_reason),
        "mean_abs_distance": b.figure(
            "first_error_pairs", 1,
            fe_reason if fe_pairs[0] == 0
            else "no pair of annotators both found an error in the same trace",
            n_pairs=int(fe_pairs[2]),
        ),
        "has_error_kappa": b.figure(
            "first_error_kappa", (),
            fe_reason if fe_pairs[0] == 0
            else "chance agreement is 1: every annotator said the same (error or no error) "
            "about every shared trace",
        ),
    }

    pooled = cohen_totals.sum(axis=0)
    confusion = {
        "labels": list(t.categories),
        "pooled": (pooled + pooled.T).astype(np.int64).tolist(),
        "pairs": [
            {
                "annotator_a": t.coders[int(key) // m],
                "annotator_b": t.coders[int(key) % m],
                "matrix": cohen_totals[i].astype(np.int64).tolist(),
            }
            for i, key in enumerate(pair_keys.tolist())
        ],
    }

    n_labels_by = np.bincount(t.coder, minlength=m)
    shared = t.labels_per_item[t.item] >= 2
    n_shared_by = np.bincount(t.coder[shared], minlength=m)
    n_ties_by = np.bincount(t.coder[tie], minlength=m)
    n_cons_by = np.bincount(t.coder[with_consensus], minlength=m)
    n_gold_by = np.bincount(t.coder[with_gold], minlength=m)
    per_annotator = []
    for c_ in range(m):
        if n_shared_by[c_] == 0:
            cons_reason = "no step shared with another annotator"
        elif n_cons_by[c_] == 0:
            cons_reason = "the other annotators tie on every shared step"
        else:
            cons_reason = "chance agreement is 1: one single category on both sides"
        gold_reason = (
            "no gold label on the steps this annotator labeled"
            if n_gold_by[c_] == 0
            else "chance agreement is 1: one single category on both sides"
        )
        per_annotator.append(
            {
                "annotator": t.coders[c_],
                "n_labels": int(n_labels_by[c_]),
                "n_shared_items": int(n_shared_by[c_]),
                "consensus": {
                    "n_items": int(n_cons_by[c_]),
                    "n_ties": int(n_ties_by[c_]),
                    "agreement": b.figure("consensus", (c_, 0), cons_reason),
                    "kappa": b.figure("consensus", (c_, 1), cons_reason),
                },
                "gold": {
                    "n_items": int(n_gold_by[c_]),
                    "agreement": b.figure("gold", (c_, 0), gold_reason),
                    "kappa": b.figure("gold", (c_, 1), gold_reason),
                },
            }
        )

    cat_totals = b.stats["per_category"].totals().reshape(k, 6)
    n_labels_by_cat = np.bincount(t.value, minlength=k)
    per_category = []
    for j in range(k):
        if base:
            reason = base
        elif cat_totals[j, 2] == 0:
            reason = f"category {t.categories[j]!r} is never used on steps with two or more labels"
        else:
            reason = (
                f"chance agreement is 1: every label on steps with two or more labels is "
                f"{t.categories[j]!r}"
            )
        per_category.append(
            {
                "category": t.categories[j],
                "n_labels": int(n_labels_by_cat[j]),
                "kappa": b.figure("per_category", (j, 0), reason),
                "specific_agreement": b.figure(
                    "per_category", (j, 1),
                    base or f"category {t.categories[j]!r} is never used on steps with two or "
                    "more labels",
                ),
            }
        )

    return {
        "n_labels": t.n_labels,
        "n_items": t.n_items,
        "n_pairable_items": t.n_pairable_items,
        "n_traces": t.n_traces,
        "n_annotators": m,
        "annotators": list(t.coders),
        "categories": list(t.categories),
        "bootstrap": (
            {"resamples": n_resamples, "seed": seed, "confidence": confidence, "unit": "trace"}
            if n_resamples > 0
            else None
        ),
        "percent_agreement": b.figure("fleiss", 0, base or "no pairable steps"),
        "cohen_kappa_mean": kappa_mean,
        "cohen_kappa_pairs": pairs_out,
        "fleiss_kappa": b.figure("fleiss", 1, same),
        "krippendorff_alpha_nominal": b.figure("alpha_nominal", (), same),
        "krippendorff_alpha_ordinal": b.figure("alpha_polarity", 0, same_pol),
        "krippendorff_alpha_interval": b.figure("alpha_polarity", 1, same_pol),
        "first_error": first_error,
        "confusion": confusion,
        "per_annotator": per_annotator,
        "per_category": per_category,
        "notes": NOTES,
    }


def _base_reason(t: LabelTable) -> str | None:
    """Return why no agreement figure can exist, or None when steps share annotators."""
    if t.n_labels == 0:
        return "no labels match the filters"
    if t.n_coders < 2:
        return f"only one annotator ({t.coders[0]}): agreement needs at least two"
    if t.n_pairable_items == 0:
        return "no overlap: no step was labeled by two or more annotators"
    return None


def _same_value_reason(t: LabelTable) -> str:
    used = np.unique(t.value[t.labels_per_item[t.item] >= 2])
    if used.size == 1:
        return (
            f"all labels identical: every label on shared steps is {t.categories[used[0]]!r}, "
            "so chance agreement is 1 and the statistic is undefined"
        )
    return "undefined: no expected disagreement"


def _same_polarity_reason(t: LabelTable) -> str:
    used = np.unique(t.polarity[t.labels_per_item[t.item] >= 2])
    if used.size == 1:
        return (
            f"all polarities identical: every label on shared steps has polarity {used[0]:+d}, "
            "so expected disagreement is 0 and alpha is undefined"
        )
    return "undefined: no expected disagreement"
