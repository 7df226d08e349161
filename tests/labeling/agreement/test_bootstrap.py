"""The bootstrap resamples whole traces, is seeded and reproducible, and brackets the estimate."""
import numpy as np
import pytest

from labeling.agreement.bootstrap import Statistic, bootstrap, resample_counts
from labeling.agreement.data import LabelTable
from labeling.agreement.report import agreement_report
from labeling.agreement.statistics import coincidence_statistic, fleiss_statistic
from tests.labeling.agreement.conftest import random_table


def _traces_all_or_nothing(n_traces: int = 12, steps: int = 10) -> LabelTable:
    """Two annotators agree on every step of even traces and on none of odd traces."""
    item, coder, value, trace = [], [], [], []
    for t in range(n_traces):
        for s in range(steps):
            step = t * steps + s
            item += [step, step]
            coder += [0, 1]
            value += [0, 0] if t % 2 == 0 else [0, 1]
            trace += [t, t]
    return LabelTable.from_arrays(item=item, coder=coder, value=value, trace=trace)


def test_replicates_move_whole_traces_together():
    """Every replicate's percent agreement is (agreeing traces drawn) / traces: a multiple of
    1/12. Resampling single steps would give multiples of 1/120 instead."""
    table = _traces_all_or_nothing()
    stat = fleiss_statistic(table, table.value, table.n_categories)
    reps = bootstrap({"f": stat}, n_traces=table.n_traces, n_resamples=500, seed=3)["f"][:, 0]
    assert np.allclose(reps * 12, np.round(reps * 12), atol=1e-9)
    assert len(np.unique(np.round(reps, 9))) > 3


def test_bootstrap_is_reproducible_with_a_seed_and_changes_with_another():
    table = random_table(1, n_coders=3)
    a = agreement_report(table, n_resamples=200, seed=7)
    b = agreement_report(table, n_resamples=200, seed=7)
    c = agreement_report(table, n_resamples=200, seed=8)
    assert a == b
    assert a["fleiss_kappa"]["ci_low"] != c["fleiss_kappa"]["ci_low"]


def test_interval_brackets_the_estimate_and_narrows_with_more_traces():
    small = agreement_report(random_table(2, n_items=120), n_resamples=400, seed=1)
    large = agreement_report(random_table(2, n_items=2400), n_resamples=400, seed=1)
    for report in (small, large):
        fig = report["krippendorff_alpha_nominal"]
        assert fig["ci_low"] <= fig["value"] <= fig["ci_high"]
    width = lambda r: r["fleiss_kappa"]["ci_high"] - r["fleiss_kappa"]["ci_low"]  # noqa: E731
    assert width(large) < width(small)


def test_chunked_replicates_equal_one_big_matrix_product():
    """Memory-bounded chunks of replicates and feature blocks give the same replicates."""
    table = random_table(4, n_coders=3)
    dense = coincidence_statistic(table, table.value, 3, lambda s: s)
    p = table.pairs
    a, b = table.value[p.left], table.value[p.right]
    tr = table.trace[p.left]
    entries = Statistic.from_entries(
        trace=np.concatenate([tr, tr]), feature=np.concatenate([a * 3 + b, b * 3 + a]),
        weight=np.concatenate([p.weight, p.weight]), n_traces=table.n_traces, n_features=9,
        compute=lambda s: s, max_cells=1,
    )
    assert dense.dense is not None and entries.dense is None
    np.testing.assert_allclose(dense.totals(), entries.totals(), atol=1e-12)
    whole = bootstrap({"f": dense}, n_traces=table.n_traces, n_resamples=50, seed=2)["f"]
    chunked = bootstrap(
        {"f": entries}, n_traces=table.n_traces, n_resamples=50, seed=2,
        max_cells=2 * table.n_traces,
    )["f"]
    np.testing.assert_allclose(whole, chunked, atol=1e-9)


def test_resample_counts_draw_each_replicate_with_replacement():
    counts = resample_counts(50, 30, np.random.default_rng(0))
    assert counts.shape == (30, 50)
    assert (counts.sum(axis=1) == 50).all()
    assert (counts.max(axis=1) > 1).all()


def test_figures_without_bootstrap_have_no_interval():
    report = agreement_report(random_table(0))
    assert "ci_low" not in report["fleiss_kappa"]
    assert report["bootstrap"] is None


@pytest.mark.parametrize("key", ["percent_agreement", "cohen_kappa_mean", "fleiss_kappa",
                                 "krippendorff_alpha_nominal", "krippendorff_alpha_ordinal"])
def test_every_headline_figure_has_an_interval_when_asked(key):
    report = agreement_report(random_table(0), n_resamples=100, seed=0)
    assert report[key]["ci_low"] <= report[key]["ci_high"]
