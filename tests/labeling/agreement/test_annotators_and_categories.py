"""First-error agreement, leave-one-out consensus, gold and per-category figures vs loops and
reference packages."""
import itertools
from collections import Counter

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from labeling.agreement.data import LabelTable
from labeling.agreement.first_error import NO_ERROR, first_errors
from labeling.agreement.report import agreement_report
from tests.labeling.agreement.conftest import random_table

TOL = 1e-9


def _naive_first_error(table: LabelTable):
    first: dict[tuple[int, int], int] = {}
    for t, c, s, p in zip(table.trace, table.coder, table.step_index, table.polarity, strict=True):
        key = (int(t), int(c))
        first.setdefault(key, NO_ERROR)
        if p < 0 and (first[key] == NO_ERROR or s < first[key]):
            first[key] = int(s)
    by_trace: dict[int, list[int]] = {}
    for (t, _c), idx in sorted(first.items()):
        by_trace.setdefault(t, []).append(idx)
    pairs = [p for v in by_trace.values() for p in itertools.combinations(v, 2)]
    exact = sum(a == b for a, b in pairs) / len(pairs)
    both = [(a, b) for a, b in pairs if a >= 0 and b >= 0]
    distance = sum(abs(a - b) for a, b in both) / len(both)
    return first, exact, distance, by_trace


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_first_error_figures_equal_a_loop_over_annotator_pairs(seed):
    table = random_table(seed, n_coders=3, p_missing=0.2, steps_per_trace=8)
    first, exact, distance, by_trace = _naive_first_error(table)
    fe = first_errors(table)
    assert dict(zip(zip(fe.trace.tolist(), fe.coder.tolist(), strict=True), fe.index.tolist(), strict=True)) == first
    report = agreement_report(table)["first_error"]
    assert report["exact_match"]["value"] == pytest.approx(exact, abs=TOL)
    assert report["mean_abs_distance"]["value"] == pytest.approx(distance, abs=TOL)


def test_has_error_kappa_equals_statsmodels_fleiss_with_equal_annotators():
    table = random_table(5, n_coders=3, equal=True, steps_per_trace=4, p_agree=0.8)
    _, _, _, by_trace = _naive_first_error(table)
    counts = np.array([[sum(i < 0 for i in v), sum(i >= 0 for i in v)] for v in by_trace.values()])
    report = agreement_report(table)["first_error"]
    assert report["has_error_kappa"]["value"] == pytest.approx(sm_fleiss_kappa(counts), abs=TOL)


def test_first_error_hand_made_trace():
    """Trace of 4 steps: ann errs at 2, bob at 3, cy finds none."""
    rows = [(s, c, p) for s, (c, p) in itertools.product(
        range(4), [("ann", 0), ("bob", 0), ("cy", 0)])]
    pol = {("ann", 2): -1, ("ann", 3): -1, ("bob", 3): -1}
    table = LabelTable.from_arrays(
        item=[s for s, _, _ in rows], coder=[c for _, c, _ in rows],
        value=[pol.get((c, s), 1) + 1 for s, c, _ in rows],
        polarity=[pol.get((c, s), 1) for s, c, _ in rows],
        trace=[7] * len(rows), step_index=[s for s, _, _ in rows],
        categories=["negative", "neutral", "positive"], coder_names={c: c for _, c, _ in rows},
    )
    report = agreement_report(table)["first_error"]
    assert report["n_pairs"] == 3
    assert report["exact_match"]["value"] == 0.0
    assert report["mean_abs_distance"]["value"] == 1.0
    assert report["mean_abs_distance"]["n_pairs"] == 1


def _naive_consensus(table: LabelTable):
    """Per coder: (agreeing, compared, ties, pairs of (label, consensus))."""
    by_item: dict[int, list[tuple[int, int]]] = {}
    for i, c, v in zip(table.item, table.coder, table.value, strict=True):
        by_item.setdefault(int(i), []).append((int(c), int(v)))
    out = {c: {"pairs": [], "ties": 0} for c in range(table.n_coders)}
    for labels in by_item.values():
        for c, v in labels:
            others = Counter(w for d, w in labels if d != c)
            if not others:
                continue
            top = others.most_common()
            if len(top) > 1 and top[0][1] == top[1][1]:
                out[c]["ties"] += 1
                continue
            out[c]["pairs"].append((v, top[0][0]))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_consensus_agreement_is_leave_one_out_majority_with_ties_left_out(seed):
    table = random_table(seed, n_coders=4, p_missing=0.25)
    naive = _naive_consensus(table)
    report = agreement_report(table)
    assert len(report["per_annotator"]) == 4  # the loop below cannot pass over an empty list
    for c, row in enumerate(report["per_annotator"]):
        pairs = naive[c]["pairs"]
        assert row["consensus"]["n_ties"] == naive[c]["ties"]
        assert row["consensus"]["n_items"] == len(pairs)
        rate = sum(a == b for a, b in pairs) / len(pairs)
        assert row["consensus"]["agreement"]["value"] == pytest.approx(rate, abs=TOL)
        kappa = cohen_kappa_score([a for a, _ in pairs], [b for _, b in pairs])
        assert row["consensus"]["kappa"]["value"] == pytest.approx(kappa, abs=TOL)


def test_gold_agreement_equals_sklearn_kappa_against_gold():
    table = random_table(3, n_coders=3, p_missing=0.2, gold_every=3)
    report = agreement_report(table)
    gold = table.gold_value
    assert len(report["per_annotator"]) == 3
    for c, row in enumerate(report["per_annotator"]):
        mine = (table.coder == c) & (gold[table.item] >= 0)
        y, g = table.value[mine], gold[table.item[mine]]
        assert row["gold"]["n_items"] == int(mine.sum())
        assert row["gold"]["agreement"]["value"] == pytest.approx(np.mean(y == g), abs=TOL)
        assert row["gold"]["kappa"]["value"] == pytest.approx(cohen_kappa_score(y, g), abs=TOL)


def test_annotator_without_gold_steps_gets_a_reason():
    table = random_table(3, n_coders=2, p_missing=0.0)
    row = agreement_report(table)["per_annotator"][0]
    assert row["gold"]["agreement"]["value"] is None
    assert "no gold label" in row["gold"]["agreement"]["reason"]


def test_per_category_kappa_equals_statsmodels_fleiss_one_against_rest():
    table = random_table(8, n_coders=4, equal=True, n_categories=4)
    report = agreement_report(table)
    counts = table.item_counts
    assert len(report["per_category"]) == 4
    for k, row in enumerate(report["per_category"]):
        binary = np.stack([counts[:, k], counts.sum(axis=1) - counts[:, k]], axis=1)
        assert row["kappa"]["value"] == pytest.approx(sm_fleiss_kappa(binary), abs=TOL)
        pairs_k = (counts[:, k] * (counts[:, k] - 1)).sum()
        with_k = (counts[:, k] * (counts.sum(axis=1) - 1)).sum()
        assert row["specific_agreement"]["value"] == pytest.approx(pairs_k / with_k, abs=TOL)
