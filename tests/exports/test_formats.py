"""Export formats: one trace in, one record out; pure, no database."""
import orjson

from exports.formats import (
    FormatContext,
    record_math_shepherd,
    record_native,
    record_prm800k,
    record_processbench,
    record_rlhflow,
    record_trl,
)
from exports.rows import TraceRow


def trace(n_steps=3, metadata=None, labels=None):
    labels = labels if labels is not None else [[(1, 1, False)] for _ in range(n_steps)]
    return TraceRow(
        id=9, external_id="ext-9", problem="What is 2+3*4?", final_answer="14",
        ground_truth_answer="14", is_outcome_correct=True, generator="gpt-x",
        source_format="processbench", is_qc=False, metadata=metadata or {},
        steps=[f"Compute part {i + 1}." for i in range(n_steps)],
        polarities=[[lab[1] for lab in step] for step in labels],
        unsure=[any(lab[2] for lab in step) for step in labels],
        labels=labels,
    )


CTX = FormatContext(project_slug="demo")


def test_trl_labels_are_booleans_never_numbers():
    record = record_trl(trace(), [1, -1, 1], CTX)
    assert record == {
        "prompt": "What is 2+3*4?",
        "completions": ["Compute part 1.", "Compute part 2.", "Compute part 3."],
        "labels": [True, False, True],
    }
    assert b"true" in orjson.dumps(record) and b"1.0" not in orjson.dumps(record)


def test_trl_keeps_the_labelled_prefix_and_truncates_after_the_first_error_on_request():
    assert record_trl(trace(), [1, None, 1], CTX)["completions"] == ["Compute part 1."]
    truncated = record_trl(trace(), [1, -1, 1], FormatContext(truncate_after_error=True))
    assert truncated["labels"] == [True, False]
    assert record_trl(trace(), [None, 1, 1], CTX) is None


def test_rlhflow_turns_each_step_into_a_user_turn_answered_by_plus_or_minus():
    record = record_rlhflow(trace(2), [1, -1], CTX)
    assert record["conversations"] == [
        {"role": "user", "content": "What is 2+3*4?\n\nCompute part 1."},
        {"role": "assistant", "content": "+"},
        {"role": "user", "content": "Compute part 2."},
        {"role": "assistant", "content": "-"},
    ]


def test_math_shepherd_tags_each_step_and_the_label_replaces_the_tags():
    record = record_math_shepherd(trace(2, metadata={"task": "GSM8K"}), [1, -1], CTX)
    assert record["input"] == "What is 2+3*4? Step 1: Compute part 1. ки\nStep 2: Compute part 2. ки"
    assert record["label"] == "What is 2+3*4? Step 1: Compute part 1. +\nStep 2: Compute part 2. -"
    assert record["task"] == "GSM8K"
    assert len(record["input"]) == len(record["label"]) + 2  # "ки" is two characters, "+" one


def test_math_shepherd_does_not_repeat_an_existing_step_prefix():
    row = trace(1)
    row.steps = ["Step 1: 3*4 = 12."]
    assert record_math_shepherd(row, [1], CTX)["input"].endswith("? Step 1: 3*4 = 12. ки")


def test_processbench_label_is_the_first_wrong_step_or_minus_one():
    assert record_processbench(trace(), [1, -1, -1], CTX)["label"] == 1
    assert record_processbench(trace(), [1, 1, 1], CTX)["label"] == -1
    assert record_processbench(trace(), [1, None, -1], CTX) is None
    record = record_processbench(trace(), [-1, None, None], CTX)
    assert (record["label"], len(record["steps"]), record["id"]) == (0, 3, "ext-9")


def test_prm800k_rates_steps_up_to_the_last_labelled_one_and_names_the_labeler():
    meta = {"timestamp": "2022-11-22T16:51:29", "generation": 6, "total_time": 1234}
    labels = [[(1, 1, False)], [(1, 0, True)], [(1, -1, False)], []]
    ctx = FormatContext(annotator_labeler="cc88bf76", aggregate="annotator")
    record = record_prm800k(trace(4, metadata=meta, labels=labels), [1, 0, -1, None], ctx)
    assert record["labeler"] == "cc88bf76"
    assert record["generation"] == 6 and record["label"]["total_time"] == 1234
    assert record["label"]["finish_reason"] == "found_error"
    assert [s["completions"][0]["rating"] for s in record["label"]["steps"]] == [1, 0, -1]
    assert [s["completions"][0]["flagged"] for s in record["label"]["steps"]] == [False, True, False]
    assert all(s["chosen_completion"] == 0 for s in record["label"]["steps"])
    assert len(record["question"]["pre_generated_steps"]) == 4


def test_native_keeps_every_annotation_and_the_soft_shares():
    labels = [
        [(1, 1, False, "positive", "", "2024-01-01T00:00:00+00:00", "ann", False, 12.5),
         (2, -1, True, "negative", "7*8 is 56", "2024-01-02T00:00:00+00:00", "bob", False, None)],
    ]
    row = trace(1, labels=labels, metadata={"k": [1, 2]})
    row.gold = [(1, "positive", "lead")]
    record = record_native(row, [-1], FormatContext(taxonomy_version=2),
                           [{"negative": 0.5, "neutral": 0.0, "positive": 0.5}])
    step = record["steps"][0]
    assert record["taxonomy_version"] == 2 and record["metadata"] == '{"k":[1,2]}'
    assert step["shares"]["positive"] == 0.5 and step["label"] == -1
    assert step["gold"] == {"polarity": 1, "category": "positive", "method": "lead"}
    assert [a["annotator"] for a in step["annotations"]] == ["ann", "bob"]
    assert step["annotations"][1]["rationale"] == "7*8 is 56" and step["annotations"][1]["is_unsure"]
