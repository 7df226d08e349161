"""Aggregation of step labels: pure, no database."""
import pytest

from exports.aggregation import (
    AgreementTally,
    first_error_index,
    is_fully_labelled,
    labelled_prefix,
    majority,
    neutral_apply,
    shares,
    step_labels_aggregate,
    unanimous,
)


def steps_of(*polarity_lists):
    return [list(ps) for ps in polarity_lists]


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ([1], 1), ([1, 1, -1], 1), ([-1, -1, 1], -1), ([0, 0, 1], 0), ([], None),
        # Ties go to the most negative label.
        ([1, -1], -1), ([1, 0], 0), ([0, -1], -1), ([1, 0, -1], -1), ([1, 1, 0, 0], 0),
        ([1, 1, -1, -1, 0], -1),
    ],
)
def test_majority_picks_the_most_frequent_label_and_breaks_ties_towards_negative(labels, expected):
    assert majority(labels) == expected


def test_unanimous_needs_every_annotator_to_agree():
    assert unanimous([1, 1, 1]) == 1
    assert unanimous([1, 1, 0]) is None
    assert unanimous([]) is None


def test_shares_are_floats_summing_to_one():
    result = shares([1, 1, 0, -1])
    assert result == {"positive": 0.5, "neutral": 0.25, "negative": 0.25}
    assert shares([]) is None


@pytest.mark.parametrize(
    ("policy", "expected"), [("positive", 1), ("negative", -1), ("drop", None), ("keep", 0)]
)
def test_neutral_policy_maps_only_neutral(policy, expected):
    assert neutral_apply(0, policy) == expected
    assert neutral_apply(1, policy) == 1
    assert neutral_apply(-1, policy) == -1
    assert neutral_apply(None, policy) is None


def test_min_annotators_leaves_thinly_labelled_steps_unlabelled():
    steps = steps_of([1, 1], [1], [-1, -1, 1])
    assert step_labels_aggregate(steps, method="majority", neutral="keep", min_annotators=2) == [1, None, -1]


def test_neutral_policy_applies_after_the_vote():
    steps = steps_of([0, 0, 1], [0, -1])
    assert step_labels_aggregate(steps, method="majority", neutral="positive") == [1, -1]
    assert step_labels_aggregate(steps, method="majority", neutral="drop") == [None, -1]


def test_gold_aggregation_reads_the_gold_labels_only():
    steps = steps_of([1, 1], [1, 1], [])
    assert step_labels_aggregate(steps, method="gold", neutral="keep", gold=[-1, None, 0]) == [-1, None, 0]


def test_annotator_aggregation_takes_the_single_label():
    steps = [[-1], []]
    assert step_labels_aggregate(steps, method="annotator", neutral="keep") == [-1, None]


def test_labelled_prefix_stops_at_the_first_gap_and_optionally_after_the_first_error():
    assert labelled_prefix([1, -1, 1, None, 1], truncate_after_error=False) == 3
    assert labelled_prefix([1, -1, 1, None, 1], truncate_after_error=True) == 2
    assert labelled_prefix([None, 1], truncate_after_error=False) == 0


def test_first_error_index_follows_processbench():
    assert first_error_index([1, 1, -1, None]) == 2
    assert first_error_index([1, 1, 1]) == -1
    assert first_error_index([1, None, -1]) is None
    assert is_fully_labelled([1, -1, None])
    assert not is_fully_labelled([1, None])


def test_agreement_tally_matches_fleiss_kappa_of_statsmodels():
    from statsmodels.stats.inter_rater import fleiss_kappa

    items = [[1, 1, 1], [1, -1, -1], [0, 0, 0], [-1, -1, 1], [1, 1, 0], [0, -1, 0]]
    tally = AgreementTally()
    for item in items:
        tally.add(item)
    table = [[item.count(v) for v in (-1, 0, 1)] for item in items]
    summary = tally.summary()
    assert summary["fleiss_kappa"] == pytest.approx(fleiss_kappa(table), abs=1e-6)
    assert summary["steps_with_2plus_labels"] == 6
    assert summary["unanimous_share"] == pytest.approx(2 / 6, abs=1e-6)


def test_agreement_tally_ignores_single_labels():
    tally = AgreementTally()
    tally.add([1])
    assert tally.summary()["fleiss_kappa"] is None
