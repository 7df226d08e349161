"""ProcessBench: label is the first wrong step; before it positive, after it unlabeled."""

import pytest

from labeling.importers import processbench
from labeling.importers.records import RecordInvalid, SourceLabel
from labeling.importers.stream import records_iter


def _record(**overrides):
    base = {
        "id": "gsm8k-0",
        "generator": "m",
        "problem": "p",
        "steps": ["a", "b", "c", "d"],
        "final_answer_correct": False,
        "label": 1,
    }
    return {**base, **overrides}


def test_steps_before_the_label_are_positive_it_is_negative_later_ones_unlabeled():
    record = processbench.parse(_record(label=1), line=1)
    assert record.labels == [SourceLabel(0, 1), SourceLabel(1, -1)]


def test_minus_one_means_every_step_is_positive():
    record = processbench.parse(_record(label=-1, final_answer_correct=True), line=1)
    assert record.labels == [SourceLabel(i, 1) for i in range(4)]
    assert record.is_outcome_correct is True
    assert record.metadata == {"id": "gsm8k-0", "final_answer_correct": True, "label": -1}


def test_a_first_step_error_gives_one_negative_label():
    assert processbench.parse(_record(label=0), line=1).labels == [SourceLabel(0, -1)]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"label": "1"}, "label"),
        ({"label": 1.0}, "label"),
        ({"label": 4}, "label"),
        ({"label": -2}, "label"),
        ({"steps": "a\n\nb"}, "steps"),
        ({"steps": ["a", ""]}, "steps[1]"),
        ({"steps": ["a", 3]}, "steps[1]"),
        ({"problem": None}, "problem"),
        ({"final_answer_correct": "yes"}, "final_answer_correct"),
        ({"id": 5}, "id"),
    ],
)
def test_bad_fields_are_named(overrides, field):
    with pytest.raises(RecordInvalid) as exc:
        processbench.parse(_record(**overrides), line=4)
    assert (4, field) in {(i.line, i.field) for i in exc.value.issues}


def test_the_json_array_fixture_reads_like_jsonl(fixtures_dir):
    items = list(
        records_iter(
            fixtures_dir / "importers" / "processbench_math_20.json",
            format="processbench",
            max_line_bytes=1 << 20,
        )
    )
    assert len(items) == 20
    assert all(not isinstance(r, list) for _line, r in items)
    lines = [line for line, _r in items]
    assert lines == sorted(lines) and lines[0] == 2
    labels = [r.metadata["label"] for _line, r in items]
    assert sum(len(r.labels) for _l, r in items) == sum(
        len(r.steps) if lab == -1 else lab + 1 for (_l, r), lab in zip(items, labels, strict=True)
    )
