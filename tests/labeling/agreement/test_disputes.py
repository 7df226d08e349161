"""Disputes per step and per trace, from label arrays (no database)."""
from labeling.agreement.disputes import dispute_counts_by_trace, step_disputes


def test_steps_are_disputed_open_or_unanimous_open():
    # Step 10: two agree; 11: disagree; 12: disagree but gold; 13: one label; 14: agree, gold.
    disputes = step_disputes(
        step=[11, 10, 11, 12, 10, 12, 13, 14, 14],
        trace=[1, 1, 1, 1, 1, 1, 2, 2, 2],
        category=[5, 7, 6, 5, 7, 6, 5, 6, 6],
        gold_step=[12, 14, 99],
    )
    assert disputes.step.tolist() == [10, 11, 12, 13, 14]
    assert disputes.trace.tolist() == [1, 1, 1, 2, 2]
    assert disputes.label_count.tolist() == [2, 2, 2, 1, 2]
    assert disputes.category.tolist() == [7, 5, 5, 5, 6]
    assert disputes.is_disputed.tolist() == [False, True, True, False, False]
    assert disputes.is_open.tolist() == [False, True, False, False, False]
    assert disputes.is_unanimous_open.tolist() == [True, False, False, False, False]


def test_traces_are_ranked_by_disputed_then_open_steps_and_calm_ones_left_out():
    disputes = step_disputes(
        # Trace 3: one disputed step with gold. Trace 4: two disputed, open. Trace 5: one
        # unanimous open step. Trace 6: a single label. Trace 7: one disputed, open.
        step=[1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 6],
        trace=[3, 3, 4, 4, 4, 4, 5, 5, 6, 7, 7],
        category=[1, 2, 1, 2, 2, 3, 1, 1, 1, 1, 3],
        gold_step=[1],
    )
    assert dispute_counts_by_trace(disputes) == [
        (4, 2, 2, 0), (7, 1, 1, 0), (3, 1, 0, 0), (5, 0, 0, 1),
    ]


def test_no_labels_give_no_disputes():
    disputes = step_disputes(step=[], trace=[], category=[], gold_step=[5])
    assert disputes.step.size == 0
    assert dispute_counts_by_trace(disputes) == []
