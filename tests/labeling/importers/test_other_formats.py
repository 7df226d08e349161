"""Native, TRL, Math-Shepherd and raw text: shapes, labels and the problems each one names."""

import pytest

from labeling.importers import math_shepherd, native, trl
from labeling.importers.records import RecordInvalid, SourceLabel
from labeling.importers.splitters import splitter_from_spec
from labeling.importers.stream import records_iter


def _issues(parse, value):
    with pytest.raises(RecordInvalid) as exc:
        parse(value, line=3)
    return {(i.line, i.field) for i in exc.value.issues}


def test_native_record_keeps_every_field_and_its_labels(fixtures_dir):
    items = list(
        records_iter(
            fixtures_dir / "importers" / "native_sample.jsonl",
            format="native",
            max_line_bytes=1 << 20,
        )
    )
    record = items[0][1]
    assert record.external_id == "n-1" and record.is_outcome_correct is True
    assert record.metadata == {"topic": "arithmetic"}
    assert record.labels == [
        SourceLabel(0, 1, "alice"),
        SourceLabel(1, 1, "alice", False, "positive"),
        SourceLabel(1, -1, "bob", True),
    ]
    assert items[2][1].labels == [SourceLabel(0, -1)]


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"steps": ["a"]}, "problem"),
        ({"problem": "p"}, "steps"),
        ({"problem": "p", "steps": "a"}, "steps"),
        ({"problem": "p", "steps": []}, "steps"),
        ({"problem": "p", "steps": ["a", "  "]}, "steps[1]"),
        ({"problem": "p", "steps": ["a\x00"]}, "steps[0]"),
        (
            {"problem": "p", "steps": ["a"], "labels": [{"step": 0, "polarity": "+"}]},
            "labels[0].polarity",
        ),
        (
            {"problem": "p", "steps": ["a"], "labels": [{"step": 1, "polarity": 1}]},
            "labels[0].step",
        ),
        (
            {"problem": "p", "steps": ["a"], "labels": [{"step": 0, "polarity": True}]},
            "labels[0].polarity",
        ),
        ({"problem": "p", "steps": ["a"], "labels": {"step": 0}}, "labels"),
        ({"problem": "p", "steps": ["a"], "outcome_correct": "yes"}, "outcome_correct"),
        ({"problem": "p", "steps": ["a"], "metadata": []}, "metadata"),
        (["p", "a"], "record"),
    ],
)
def test_native_problems_are_named(value, field):
    assert (3, field) in _issues(native.parse, value)


def test_trl_labels_are_booleans_or_zero_one():
    record = trl.parse(
        {"prompt": "p", "completions": ["a", "b", "c"], "labels": [True, 0, 1]}, line=1
    )
    assert record.labels == [SourceLabel(0, 1), SourceLabel(1, -1), SourceLabel(2, 1)]
    assert record.problem == "p" and record.source == "trl"


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"prompt": "p", "completions": ["a"], "labels": [0.7]}, "labels[0]"),
        ({"prompt": "p", "completions": ["a"], "labels": ["yes"]}, "labels[0]"),
        ({"prompt": "p", "completions": ["a", "b"], "labels": [True]}, "labels"),
        ({"prompt": "p", "completions": "a", "labels": [True]}, "completions"),
        ({"completions": ["a"], "labels": [True]}, "prompt"),
        ({"prompt": "p", "completions": ["a"]}, "labels"),
    ],
)
def test_trl_problems_are_named(value, field):
    assert (3, field) in _issues(trl.parse, value)


def test_math_shepherd_splits_the_problem_at_step_one_and_reads_plus_minus(fixtures_dir):
    items = list(
        records_iter(
            fixtures_dir / "importers" / "math_shepherd_synthetic.jsonl",
            format="math-shepherd",
            max_line_bytes=1 << 20,
        )
    )
    first = items[0][1]
    assert first.problem == "What is 2+3*4?"
    assert first.steps == ["Step 1: 3*4 = 12.", "Step 2: 2+12 = 15."]
    assert first.labels == [SourceLabel(0, 1), SourceLabel(1, -1)]
    assert first.metadata == {"task": "GSM8K"}
    assert items[2][1].problem == "Solve x + 4 = 10."  # lower-case "step 1:"
    assert [len(r.steps) for _l, r in items] == [2, 3, 3]


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"input": "Q? Step 1: a ки", "label": "Q? Step 1: a ?"}, "label"),
        ({"input": "Q? Step 1: a ки", "label": "Other Step 1: a +"}, "label"),
        ({"input": "Q? Step 1: a", "label": "Q? Step 1: a +"}, "input"),
        ({"input": "Q? a ки", "label": "Q? a +"}, "input"),
        (
            {"input": "Q? Step 1: a ки\nStep 2: ки", "label": "Q? Step 1: a +\nStep 2: +"},
            "input.step[1]",
        ),
        ({"input": "Q? Step 1: a ки", "label": 1}, "label"),
    ],
)
def test_math_shepherd_problems_are_named(value, field):
    assert (3, field) in _issues(math_shepherd.parse, value)


def test_text_blocks_split_by_step_markers_and_keep_the_answer(fixtures_dir):
    items = list(
        records_iter(
            fixtures_dir / "importers" / "text_steps.txt",
            format="text",
            splitter="step-marker",
            max_line_bytes=1 << 20,
        )
    )
    assert [line for line, _r in items] == [1, 7]
    first = items[0][1]
    assert first.problem == "What is 2+3*4?"
    assert first.steps == [
        "Step 1: Multiply first: 3*4 = 12.",
        "Step 2: Then add: 2+12 = 14.\nAnswer: 14",
    ]
    assert items[1][1].steps == ["Step 1: 10-7 = 3.", "Step 2: So the answer is 3."]


def test_text_by_line_gives_the_final_answer(fixtures_dir):
    items = list(
        records_iter(
            fixtures_dir / "importers" / "text_steps.txt",
            format="text",
            splitter="line",
            max_line_bytes=1 << 20,
        )
    )
    assert len(items[0][1].steps) == 3
    assert items[0][1].final_answer == "14"


@pytest.mark.parametrize(
    ("spec", "text", "steps"),
    [
        ("line", "a\n\n b \nc", ["a", "b", "c"]),
        ("blank-line", "a\nb\n\nc\n  \nd", ["a\nb", "c", "d"]),
        (
            "step-marker",
            "intro\nStep 1: a\nmore\nstep 2. b\n## Step 3) c",
            ["intro", "Step 1: a\nmore", "step 2. b", "## Step 3) c"],
        ),
        ("regex:\\n-{3,}\\n", "a\n---\nb\n-----\nc", ["a", "b", "c"]),
        ("regex:(;)", "a;b;;c", ["a", "b", "c"]),
    ],
)
def test_splitters(spec, text, steps):
    assert splitter_from_spec(spec)(text) == steps


@pytest.mark.parametrize("spec", ["regex:(", "regex:", "regex:x*", "words"])
def test_bad_splitters_are_refused(spec):
    with pytest.raises(ValueError):
        splitter_from_spec(spec)


def test_a_text_trace_without_a_solution_is_refused(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("Only a problem here.\n===\nQ\n\nA step\n")
    items = list(records_iter(path, format="text", max_line_bytes=1 << 20))
    assert isinstance(items[0][1], list) and items[0][1][0].field == "steps"
    assert items[1][1].steps == ["A step"]
