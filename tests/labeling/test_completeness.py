"""labeling.completeness: what a submit still needs (pure, no database)."""
from labeling.completeness import StepMark, completeness_check

POS = StepMark(polarity=1, is_rationale_required=False, has_rationale=False)
NEG = StepMark(polarity=-1, is_rationale_required=False, has_rationale=False)
NEG_NEEDS_WHY = StepMark(polarity=-1, is_rationale_required=True, has_rationale=False)
NEG_WITH_WHY = StepMark(polarity=-1, is_rationale_required=True, has_rationale=True)


def test_every_step_mode_needs_every_step():
    result = completeness_check(step_count=4, marks={0: POS, 2: NEG}, is_first_error_mode=False)
    assert result.missing_steps == [1, 3]
    assert not result.is_complete


def test_first_error_mode_stops_at_the_first_negative_step():
    result = completeness_check(step_count=6, marks={0: POS, 1: POS, 2: NEG}, is_first_error_mode=True)
    assert result.is_complete
    assert result.first_error_index == 2


def test_first_error_mode_without_a_negative_needs_every_step():
    result = completeness_check(step_count=3, marks={0: POS, 1: POS}, is_first_error_mode=True)
    assert result.missing_steps == [2]
    assert result.first_error_index is None


def test_gaps_before_the_first_error_are_reported():
    result = completeness_check(step_count=5, marks={0: POS, 3: NEG}, is_first_error_mode=True)
    assert result.missing_steps == [1, 2]


def test_a_required_rationale_is_reported_until_written():
    missing = completeness_check(step_count=1, marks={0: NEG_NEEDS_WHY}, is_first_error_mode=False)
    assert missing.missing_rationales == [0]
    written = completeness_check(step_count=1, marks={0: NEG_WITH_WHY}, is_first_error_mode=False)
    assert written.is_complete


def test_rationales_after_the_first_error_are_not_required():
    result = completeness_check(
        step_count=3, marks={0: NEG, 2: NEG_NEEDS_WHY}, is_first_error_mode=True
    )
    assert result.is_complete
