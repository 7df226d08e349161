"""PRM800K: the labeled path of phase 1, the pre-generated trace of phase 2, per-labeler labels."""

import copy
import json

import pytest

from labeling.importers import prm800k
from labeling.importers.records import RecordInvalid, SourceLabel


@pytest.fixture
def phase1(fixtures_dir):
    lines = (fixtures_dir / "importers" / "prm800k_phase1_sample.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines]


@pytest.fixture
def phase2(fixtures_dir):
    lines = (fixtures_dir / "importers" / "prm800k_phase2_sample.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines]


def test_phase1_trace_follows_chosen_then_human_completions(phase1):
    raw = phase1[0]
    record = prm800k.parse(raw, line=1)
    expected = []
    for position in raw["label"]["steps"]:
        if position["chosen_completion"] is not None:
            expected.append(position["completions"][position["chosen_completion"]]["text"])
        elif position["human_completion"] is not None:
            expected.append(position["human_completion"]["text"])
    assert record.steps == expected
    assert record.metadata["step_sources"].count("human") == sum(
        1 for p in raw["label"]["steps"] if p["chosen_completion"] is None and p["human_completion"]
    )
    assert record.problem == raw["question"]["problem"]
    assert record.ground_truth_answer == "29"
    assert record.final_answer == "29"


def test_phase1_sample_has_41_path_steps_for_42_rated_positions(phase1):
    records = [prm800k.parse(r, line=i + 1) for i, r in enumerate(phase1)]
    assert sum(len(r.steps) for r in records) == 41
    assert sum(len(r["label"]["steps"]) for r in phase1) == 42
    # The give-up record ends at a position where nothing was chosen and nothing rated.
    assert records[1].metadata["finish_reason"] == "give_up"
    assert len(records[1].steps) == len(phase1[1]["label"]["steps"]) - 1


def test_human_completions_are_unlabeled_and_chosen_ratings_are_labels(phase1):
    record = prm800k.parse(phase1[0], line=1)
    human_steps = {i for i, s in enumerate(record.metadata["step_sources"]) if s == "human"}
    labeled = {label.step_index for label in record.labels}
    assert human_steps and not human_steps & labeled
    assert labeled | human_steps == set(range(len(record.steps)))
    assert {label.annotator for label in record.labels} == {phase1[0]["labeler"]}


def test_phase2_trace_is_the_pre_generated_solution_and_labels_stop_at_the_first_error(phase2):
    raw = phase2[0]
    record = prm800k.parse(raw, line=1)
    assert record.steps == raw["question"]["pre_generated_steps"]
    assert len(record.steps) == 13
    rated = len(raw["label"]["steps"])
    assert [label.step_index for label in record.labels] == list(range(rated))
    assert record.labels[-1].polarity == -1
    assert all(label.polarity != -1 for label in record.labels[:-1])
    assert record.final_answer == raw["question"]["pre_generated_answer"]


def test_phase2_sample_has_177_trace_steps_and_76_rated_ones(phase2):
    records = [prm800k.parse(r, line=i + 1) for i, r in enumerate(phase2)]
    assert sum(len(r.steps) for r in records) == 177
    assert sum(len(r.labels) for r in records) == 76


def test_phase2_ignores_ratings_after_the_first_negative(phase2):
    raw = copy.deepcopy(phase2[0])
    extra = copy.deepcopy(raw["label"]["steps"][0])
    k = len(raw["label"]["steps"])
    extra["completions"][0]["text"] = raw["question"]["pre_generated_steps"][k]
    raw["label"]["steps"].append(extra)
    record = prm800k.parse(raw, line=1)
    assert max(label.step_index for label in record.labels) == k - 1


def test_flagged_marks_the_label_unsure(phase2):
    raw = copy.deepcopy(phase2[0])
    raw["label"]["steps"][1]["completions"][0]["flagged"] = True
    record = prm800k.parse(raw, line=1)
    assert record.labels[1] == SourceLabel(1, record.labels[1].polarity, raw["labeler"], True)
    assert not record.labels[0].is_unsure


def test_metadata_keeps_flags_times_scores_and_the_whole_tree(phase2):
    raw = phase2[0]
    meta = prm800k.parse(raw, line=1).metadata
    assert meta["phase"] == 2
    assert meta["generation"] == 6
    assert meta["labeler"] == raw["labeler"]
    assert meta["is_quality_control_question"] is False
    assert meta["is_initial_screening_question"] is False
    assert meta["finish_reason"] == "found_error"
    assert meta["total_time"] == raw["label"]["total_time"]
    assert meta["pre_generated_verifier_score"] == raw["question"]["pre_generated_verifier_score"]
    assert meta["labelings"][0]["label_steps"] == raw["label"]["steps"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.pop("labeler"), "labeler"),
        (lambda r: r["question"].update(problem=3), "question.problem"),
        (lambda r: r["label"].update(steps="x"), "label.steps"),
        (
            lambda r: r["label"]["steps"][0].update(chosen_completion=9),
            "label.steps[0].chosen_completion",
        ),
        (
            lambda r: r["label"]["steps"][0]["completions"][0].update(rating="good"),
            "label.steps[0].completions[0].rating",
        ),
        (lambda r: r["label"]["steps"][0]["completions"][0].update(text=""), "label.steps[0]"),
        (lambda r: r.update(generation="six"), "generation"),
    ],
)
def test_bad_phase1_fields_are_named(phase1, mutate, field):
    raw = copy.deepcopy(phase1[0])
    mutate(raw)
    with pytest.raises(RecordInvalid) as exc:
        prm800k.parse(raw, line=7)
    assert (7, field) in {(i.line, i.field) for i in exc.value.issues}


def test_a_phase2_rating_on_a_step_that_is_not_pre_generated_is_refused(phase2):
    raw = copy.deepcopy(phase2[0])
    for completion in raw["label"]["steps"][2]["completions"]:
        completion["text"] = "something else"
    with pytest.raises(RecordInvalid) as exc:
        prm800k.parse(raw, line=1)
    assert exc.value.issues[0].field == "label.steps[2].completions"
