"""Hand-made cases: perfect agreement, systematic disagreement, missing labels, unequal
numbers of annotators, a single item, one annotator; undefined figures give a reason."""
import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from labeling.agreement.data import LabelTable
from labeling.agreement.report import agreement_report
from tests.labeling.agreement.conftest import reliability_matrix

TOL = 1e-9
CATS = ["negative", "neutral", "positive"]


def _table(rows, gold=None):
    """rows: (step, annotator, category key); polarity follows the category order."""
    items, coders, values = zip(*rows, strict=True)
    codes = [CATS.index(v) for v in values]
    gold_items = list(gold) if gold else None
    return LabelTable.from_arrays(
        item=list(items), coder=list(coders), value=codes, polarity=[c - 1 for c in codes],
        categories=CATS, coder_names={c: c for c in coders},
        gold_item=gold_items,
        gold_value=[CATS.index(gold[i]) for i in gold_items] if gold else None,
    )


def _assert_undefined(figure, contains):
    assert figure["value"] is None
    assert contains in figure["reason"]


def test_perfect_agreement_gives_one_everywhere():
    rows = [(s, a, v) for s, v in enumerate(["negative", "positive", "neutral", "positive"])
            for a in ("ann", "bob", "cy")]
    report = agreement_report(_table(rows))
    for key in ("percent_agreement", "cohen_kappa_mean", "fleiss_kappa",
                "krippendorff_alpha_nominal", "krippendorff_alpha_ordinal"):
        assert report[key]["value"] == pytest.approx(1.0, abs=TOL), key


def test_systematic_disagreement_gives_minus_one_kappa_and_negative_alpha():
    """ann says positive where bob says negative and the other way round."""
    rows = []
    for s in range(6):
        v = "positive" if s % 2 else "negative"
        w = "negative" if s % 2 else "positive"
        rows += [(s, "ann", v), (s, "bob", w)]
    table = _table(rows)
    report = agreement_report(table)
    a = ["positive" if s % 2 else "negative" for s in range(6)]
    b = ["negative" if s % 2 else "positive" for s in range(6)]
    assert report["cohen_kappa_pairs"][0]["value"] == pytest.approx(
        cohen_kappa_score(a, b), abs=TOL
    )
    assert report["cohen_kappa_pairs"][0]["value"] == pytest.approx(-1.0, abs=TOL)
    assert report["percent_agreement"]["value"] == 0.0
    expected = krippendorff.alpha(reliability_data=reliability_matrix(table),
                                  level_of_measurement="nominal")
    assert report["krippendorff_alpha_nominal"]["value"] == pytest.approx(expected, abs=TOL)
    assert report["krippendorff_alpha_nominal"]["value"] < 0


def test_missing_labels_and_unequal_annotators_per_step_match_references():
    rows = [
        (0, "ann", "positive"), (0, "bob", "positive"), (0, "cy", "negative"),
        (1, "ann", "negative"), (1, "bob", "negative"),
        (2, "bob", "neutral"), (2, "cy", "neutral"), (2, "dee", "positive"), (2, "ann", "neutral"),
        (3, "cy", "positive"),  # a single label: not pairable
        (4, "ann", "positive"), (4, "dee", "negative"),
    ]
    table = _table(rows)
    report = agreement_report(table)
    for level, by, key in (("nominal", "value", "krippendorff_alpha_nominal"),
                           ("ordinal", "polarity", "krippendorff_alpha_ordinal")):
        expected = krippendorff.alpha(reliability_data=reliability_matrix(table, by),
                                      level_of_measurement=level)
        assert report[key]["value"] == pytest.approx(expected, abs=TOL)
    # Fleiss generalised: P_i = 1/3, 1, 1/2, 0 over the 4 pairable steps.
    p_bar = (1 / 3 + 1 + 0.5 + 0) / 4
    shares = np.array([4, 3, 4]) / 11  # negative, neutral, positive among pairable labels
    expected_fleiss = (p_bar - (shares**2).sum()) / (1 - (shares**2).sum())
    assert report["fleiss_kappa"]["value"] == pytest.approx(expected_fleiss, abs=TOL)
    assert report["percent_agreement"]["value"] == pytest.approx(p_bar, abs=TOL)
    assert report["n_items"] == 5 and report["n_pairable_items"] == 4


def test_pairs_without_shared_steps_say_so():
    rows = [(0, "ann", "positive"), (0, "bob", "negative"), (1, "cy", "positive"),
            (1, "bob", "positive")]
    report = agreement_report(_table(rows))
    by_pair = {(p["annotator_a"], p["annotator_b"]): p for p in report["cohen_kappa_pairs"]}
    assert by_pair[("ann", "cy")]["n_items"] == 0
    _assert_undefined(by_pair[("ann", "cy")], "no shared steps")


def test_single_item_with_two_agreeing_annotators_has_undefined_kappa_and_alpha():
    report = agreement_report(_table([(0, "ann", "positive"), (0, "bob", "positive")]))
    assert report["percent_agreement"]["value"] == 1.0
    _assert_undefined(report["fleiss_kappa"], "all labels identical")
    _assert_undefined(report["krippendorff_alpha_nominal"], "all labels identical")
    _assert_undefined(report["krippendorff_alpha_ordinal"], "all polarities identical")
    _assert_undefined(report["cohen_kappa_pairs"][0], "chance agreement is 1")
    _assert_undefined(report["cohen_kappa_mean"], "undefined")


def test_single_item_with_two_disagreeing_annotators_matches_references():
    table = _table([(0, "ann", "positive"), (0, "bob", "negative")])
    report = agreement_report(table)
    expected = krippendorff.alpha(reliability_data=reliability_matrix(table),
                                  level_of_measurement="nominal")
    assert report["krippendorff_alpha_nominal"]["value"] == pytest.approx(expected, abs=TOL)
    assert report["cohen_kappa_pairs"][0]["value"] == pytest.approx(
        cohen_kappa_score(["positive"], ["negative"]), abs=TOL
    )
    counts = np.array([[1, 0, 1]])
    assert report["fleiss_kappa"]["value"] == pytest.approx(sm_fleiss_kappa(counts), abs=TOL)


def test_one_annotator_gives_reasons_not_numbers():
    report = agreement_report(_table([(0, "ann", "positive"), (1, "ann", "negative")]))
    for key in ("percent_agreement", "cohen_kappa_mean", "fleiss_kappa",
                "krippendorff_alpha_nominal", "krippendorff_alpha_ordinal"):
        _assert_undefined(report[key], "only one annotator")
    _assert_undefined(report["first_error"]["exact_match"], "only one annotator")
    assert report["cohen_kappa_pairs"] == []
    assert report["n_annotators"] == 1


def test_no_overlap_gives_a_reason():
    report = agreement_report(_table([(0, "ann", "positive"), (1, "bob", "negative")]))
    _assert_undefined(report["fleiss_kappa"], "no overlap")
    _assert_undefined(report["krippendorff_alpha_nominal"], "no overlap")
    _assert_undefined(report["cohen_kappa_mean"], "no overlap")


def test_empty_table_gives_a_reason():
    table = LabelTable.from_arrays(item=[], coder=[], value=[], categories=CATS)
    report = agreement_report(table, n_resamples=10)
    _assert_undefined(report["percent_agreement"], "no labels")
    assert report["n_labels"] == 0


def test_no_figure_in_a_report_is_nan():
    """Undefined figures are null with a reason, at every depth of the result."""
    report = agreement_report(_table([(0, "ann", "positive"), (0, "bob", "positive")]),
                              n_resamples=20)

    def walk(node):
        if isinstance(node, dict):
            if "value" in node and node["value"] is None:
                assert node.get("reason")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, float):
            assert not np.isnan(node)

    walk(report)


def test_confusion_matrices_count_label_pairs():
    rows = [(0, "ann", "positive"), (0, "bob", "negative"), (1, "ann", "positive"),
            (1, "bob", "positive")]
    report = agreement_report(_table(rows))
    pair = report["confusion"]["pairs"][0]
    assert (pair["annotator_a"], pair["annotator_b"]) == ("ann", "bob")
    assert pair["matrix"] == [[0, 0, 0], [0, 0, 0], [1, 0, 1]]
    assert report["confusion"]["pooled"] == [[0, 0, 1], [0, 0, 0], [1, 0, 2]]


def test_gold_without_any_label_is_ignored():
    table = LabelTable.from_arrays(
        item=[], coder=[], value=[], categories=CATS, gold_item=[5], gold_value=[0]
    )
    report = agreement_report(table)
    assert report["n_items"] == 0
    assert report["per_annotator"] == []


def test_project_without_categories_or_labels_gives_reasons():
    table = LabelTable.from_arrays(item=[], coder=[], value=[], categories=())
    report = agreement_report(table, n_resamples=5)
    _assert_undefined(report["fleiss_kappa"], "no labels")
    assert report["per_category"] == []
