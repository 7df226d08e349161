"""Problem-grouped splits: pure, no database."""
from collections import Counter

from exports.splits import problem_normalise, split_assign


def test_the_same_problem_lands_in_the_same_split_whatever_the_spacing_or_case():
    a = split_assign("What is  2+2?\n", seed=3, fractions=(0.5, 0.25, 0.25))
    b = split_assign("what is 2+2?", seed=3, fractions=(0.5, 0.25, 0.25))
    assert a == b
    assert problem_normalise(" A\tB  ") == "a b"


def test_splits_follow_the_fractions_on_many_problems():
    counts = Counter(
        split_assign(f"problem {i}", seed=1, fractions=(0.8, 0.1, 0.1)) for i in range(20_000)
    )
    assert abs(counts["train"] / 20_000 - 0.8) < 0.02
    assert abs(counts["validation"] / 20_000 - 0.1) < 0.02
    assert abs(counts["test"] / 20_000 - 0.1) < 0.02


def test_the_seed_changes_the_assignment_and_empty_splits_stay_empty():
    first = [split_assign(f"p{i}", seed=1, fractions=(0.5, 0.5, 0.0)) for i in range(200)]
    second = [split_assign(f"p{i}", seed=2, fractions=(0.5, 0.5, 0.0)) for i in range(200)]
    assert first != second
    assert "test" not in first
    assert {split_assign(f"p{i}", seed=1, fractions=(1.0, 0.0, 0.0)) for i in range(200)} == {"train"}
