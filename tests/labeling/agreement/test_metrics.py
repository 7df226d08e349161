"""Each statistic equals its reference to 1e-9: sklearn, statsmodels, krippendorff, loops."""
import itertools

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from labeling.agreement.data import LabelTable
from labeling.agreement.metrics import (
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    krippendorff_alpha_from_coincidence,
)
from labeling.agreement.report import agreement_report
from tests.labeling.agreement.conftest import random_table, reliability_matrix

TOL = 1e-9
SEEDS = [0, 1, 2, 3, 4]


def _naive_percent_agreement(table: LabelTable) -> float:
    """Mean over items with >= 2 labels of the share of agreeing label pairs, by loops."""
    by_item: dict[int, list[int]] = {}
    for i, v in zip(table.item.tolist(), table.value.tolist(), strict=True):
        by_item.setdefault(i, []).append(v)
    shares = []
    for values in by_item.values():
        if len(values) < 2:
            continue
        pairs = list(itertools.combinations(values, 2))
        shares.append(sum(a == b for a, b in pairs) / len(pairs))
    return sum(shares) / len(shares)


def _pair_labels(table: LabelTable, a: int, b: int) -> tuple[list[int], list[int]]:
    la = {i: v for i, c, v in zip(table.item, table.coder, table.value, strict=True) if c == a}
    lb = {i: v for i, c, v in zip(table.item, table.coder, table.value, strict=True) if c == b}
    shared = sorted(set(la) & set(lb))
    return [la[i] for i in shared], [lb[i] for i in shared]


@pytest.mark.parametrize("seed", SEEDS)
def test_cohen_kappa_of_every_pair_equals_sklearn_on_random_data_with_missing_labels(seed):
    table = random_table(seed, n_coders=4, p_missing=0.35)
    report = agreement_report(table)
    kappas = []
    for pair in report["cohen_kappa_pairs"]:
        a = table.coders.index(pair["annotator_a"])
        b = table.coders.index(pair["annotator_b"])
        ya, yb = _pair_labels(table, a, b)
        expected = cohen_kappa_score(ya, yb)
        assert pair["n_items"] == len(ya)
        assert pair["value"] == pytest.approx(expected, abs=TOL)
        kappas.append(expected)
    assert report["cohen_kappa_mean"]["value"] == pytest.approx(np.mean(kappas), abs=TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_cohen_kappa_function_equals_sklearn(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, 200)
    b = np.where(rng.random(200) < 0.5, a, rng.integers(0, 4, 200))
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_fleiss_kappa_equals_statsmodels_with_equal_raters(seed):
    table = random_table(seed, n_coders=5, equal=True, n_categories=4)
    expected = sm_fleiss_kappa(table.item_counts, method="fleiss")
    assert fleiss_kappa(table.item_counts) == pytest.approx(expected, abs=TOL)
    report = agreement_report(table)
    assert report["fleiss_kappa"]["value"] == pytest.approx(expected, abs=TOL)


def test_fleiss_kappa_with_unequal_raters_is_the_generalisation_by_proportions():
    """Items with 2, 3 and 4 raters: P_i per item, category shares pooled over labels."""
    counts = np.array([[2, 0], [1, 2], [3, 1], [0, 2], [1, 0]])  # last item: one label, left out
    p_i = [1.0, 1 / 3, 0.5, 1.0]
    p_bar = np.mean(p_i)
    p = np.array([6, 5]) / 11
    expected = (p_bar - (p**2).sum()) / (1 - (p**2).sum())
    assert fleiss_kappa(counts) == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_krippendorff_alpha_equals_the_krippendorff_package_with_missing_data(seed, level):
    table = random_table(seed, n_coders=4, p_missing=0.4)
    by = "value" if level == "nominal" else "polarity"
    expected = krippendorff.alpha(
        reliability_data=reliability_matrix(table, by), level_of_measurement=level
    )
    assert krippendorff_alpha(table, level, by) == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_report_alphas_equal_the_krippendorff_package(seed):
    table = random_table(seed, n_coders=3, p_missing=0.25, n_categories=5)
    report = agreement_report(table)
    nominal = krippendorff.alpha(
        reliability_data=reliability_matrix(table), level_of_measurement="nominal"
    )
    ordinal = krippendorff.alpha(
        reliability_data=reliability_matrix(table, "polarity"), level_of_measurement="ordinal"
    )
    interval = krippendorff.alpha(
        reliability_data=reliability_matrix(table, "polarity"), level_of_measurement="interval"
    )
    assert report["krippendorff_alpha_nominal"]["value"] == pytest.approx(nominal, abs=TOL)
    assert report["krippendorff_alpha_ordinal"]["value"] == pytest.approx(ordinal, abs=TOL)
    assert report["krippendorff_alpha_interval"]["value"] == pytest.approx(interval, abs=TOL)


def test_ordinal_alpha_ignores_a_polarity_nobody_used():
    """Only -1 and +1 used: the unused 0 adds nothing, as in the package's observed domain."""
    table = LabelTable.from_arrays(
        item=[1, 1, 2, 2, 3, 3, 4, 4], coder=[0, 1] * 4, value=[0, 0, 0, 1, 1, 1, 1, 0],
        polarity=[-1, -1, -1, 1, 1, 1, 1, -1], categories=["neg", "pos"],
    )
    expected = krippendorff.alpha(
        reliability_data=reliability_matrix(table, "polarity"), level_of_measurement="ordinal"
    )
    assert krippendorff_alpha(table, "ordinal", "polarity") == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_percent_agreement_equals_a_loop_over_label_pairs(seed):
    table = random_table(seed, n_coders=4, p_missing=0.3)
    report = agreement_report(table)
    assert report["percent_agreement"]["value"] == pytest.approx(
        _naive_percent_agreement(table), abs=TOL
    )


def test_alpha_from_coincidence_matches_krippendorff_worked_example():
    """Krippendorff (2011) reliability data: 4 coders, 12 units, nominal alpha = 0.743."""
    nan = np.nan
    data = np.array(
        [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
            [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
        ]
    )
    coder, unit = np.nonzero(~np.isnan(data))
    table = LabelTable.from_arrays(item=unit, coder=coder, value=data[coder, unit])
    assert krippendorff_alpha(table, "nominal") == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(table, "nominal") == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), abs=TOL
    )


def test_alpha_from_coincidence_is_nan_without_expected_disagreement():
    assert np.isnan(krippendorff_alpha_from_coincidence(np.array([[4.0, 0], [0, 0]])))


def test_steps_with_many_annotators_pair_every_label():
    """A QC step labeled by 20 annotators takes the large-group pairing path."""
    rng = np.random.default_rng(11)
    n_coders, n_items = 20, 30
    item = np.repeat(np.arange(n_items), n_coders)
    coder = np.tile(np.arange(n_coders), n_items)
    value = rng.integers(0, 3, item.size)
    keep = rng.random(item.size) > 0.2
    table = LabelTable.from_arrays(item=item[keep], coder=coder[keep], value=value[keep])
    p = table.pairs
    n_i = table.labels_per_item
    assert p.left.size == int((n_i * (n_i - 1) // 2).sum())
    assert (table.item[p.left] == table.item[p.right]).all() and (p.left < p.right).all()
    expected = krippendorff.alpha(
        reliability_data=reliability_matrix(table), level_of_measurement="nominal"
    )
    assert krippendorff_alpha(table, "nominal") == pytest.approx(expected, abs=TOL)
