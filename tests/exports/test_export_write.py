"""The export writer against the database: files, splits, determinism, filters, HF loading."""
import json
from pathlib import Path

import datasets
import pytest

from exports.options import options_from_dict
from exports.services import export_write
from labeling.models import Category, CategoryMapping, GoldLabel, Step, StepLabel
from labeling.services.taxonomies import DEFAULT_CATEGORIES, taxonomy_version_publish_new
from tests.exports.conftest import labels_add
from tests.labeling.factories import TraceFactory

pytestmark = pytest.mark.django_db

FORMATS = ["trl", "rlhflow", "prm800k", "math-shepherd", "processbench", "native"]


def run(project, out: Path, **options) -> dict:
    return export_write(project=project, options=options_from_dict(options), out_dir=out)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("file_format", ["jsonl", "parquet"])
def test_same_seed_and_data_give_byte_identical_folders(labelled_project, tmp_path, file_format):
    opts = {"format": "trl", "file_format": file_format, "split": "0.5,0.25,0.25", "seed": 7}
    run(labelled_project, tmp_path / "a", **opts)
    run(labelled_project, tmp_path / "b", **opts)
    first, second = tree_bytes(tmp_path / "a"), tree_bytes(tmp_path / "b")
    assert first == second
    assert "manifest.json" in first and "README.md" in first


def test_no_problem_lands_in_two_splits(labelled_project, tmp_path):
    for seed in range(5):
        manifest = run(labelled_project, tmp_path / str(seed), format="processbench",
                       split="0.4,0.3,0.3", seed=seed)
        seen: dict[str, str] = {}
        for entry in manifest["files"]:
            for record in read_jsonl(tmp_path / str(seed) / entry["path"]):
                assert seen.setdefault(record["problem"], entry["split"]) == entry["split"]
        assert len(seen) == 11  # twelve traces, two share a problem


def test_manifest_records_counts_checksums_distribution_and_taxonomy(labelled_project, tmp_path):
    manifest = run(labelled_project, tmp_path, format="trl", split="0.5,0.5,0")
    assert manifest["step_separator"] == "\n"
    assert manifest["totals"]["records"] == sum(f["records"] for f in manifest["files"])
    import hashlib
    for entry in manifest["files"]:
        data = (tmp_path / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data.splitlines()) == entry["records"]
    assert [c["key"] for c in manifest["taxonomy"]["categories"]] == ["positive", "neutral", "negative"]
    assert manifest["aggregation"]["tie_rule"].startswith("Ties go to the most negative")
    dist = manifest["label_distribution"]
    assert dist["neutral"] == 0  # neutral became negative
    assert dist["positive"] + dist["negative"] == manifest["totals"]["steps"]
    assert manifest["agreement"]["steps_with_2plus_labels"] == manifest["totals"]["steps"]
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest
    card_bytes = (tmp_path / "README.md").read_bytes()
    assert manifest["card"]["sha256"] == hashlib.sha256(card_bytes).hexdigest()
    card = card_bytes.decode()
    assert card.startswith("---\nconfigs:") and "path: data/train.jsonl" in card


def test_majority_ties_go_negative_and_neutral_policy_is_applied(labelled_project, tmp_path):
    run(labelled_project, tmp_path / "neg", format="trl")
    run(labelled_project, tmp_path / "pos", format="trl", neutral="positive")
    run(labelled_project, tmp_path / "drop", format="trl", neutral="drop")
    by_prompt = lambda name: {  # noqa: E731
        (r["prompt"], tuple(r["completions"])): r["labels"]
        for r in read_jsonl(tmp_path / name / "data" / "train.jsonl")
    }
    neg, pos, drop = by_prompt("neg"), by_prompt("pos"), by_prompt("drop")
    p3 = ("Problem 3: what is 3*3?", ("Step 1: compute part 1.", "Step 2: compute part 2.", "Step 3: compute part 3."))
    assert neg[p3] == [False, True, True]  # -1 vs 1 on step 1: tie goes negative
    p5 = ("Problem 5: what is 5*5?", p3[1])
    assert neg[p5] == [False, False, False] and pos[p5] == [True, True, True]
    assert p5 not in drop  # all-neutral trace has no labelled step left
    p2 = ("Problem 2: what is 2*2?", p3[1][:2])
    assert neg[p2] == [True, False]  # unlabelled third step ends the record


def test_truncation_unanimous_and_min_annotators(labelled_project, tmp_path):
    run(labelled_project, tmp_path / "t", format="trl", truncate_after_error=True)
    assert all(
        False not in r["labels"][:-1]
        for r in read_jsonl(tmp_path / "t" / "data" / "train.jsonl")
    )
    manifest = run(labelled_project, tmp_path / "u", format="trl", aggregate="unanimous")
    problems = {r["prompt"]: r["labels"] for r in read_jsonl(tmp_path / "u" / "data" / "train.jsonl")}
    assert "Problem 3: what is 3*3?" not in problems  # first step disputed
    assert problems["Problem 7: what is 7*7?"] == [True]  # step 2 disputed (0 vs 1) ends it
    manifest = run(labelled_project, tmp_path / "m", format="trl", min_annotators=3)
    assert manifest["totals"]["records"] == 0 and manifest["files"] == []


def test_filters_select_annotators_generators_and_fully_labelled_traces(labelled_project, tmp_path):
    m = run(labelled_project, tmp_path / "g", format="native", generators=["gen-a"])
    records = read_jsonl(tmp_path / "g" / "data" / "train.jsonl")
    assert {r["generator"] for r in records} == {"gen-a"} and m["totals"]["records"] == 6
    run(labelled_project, tmp_path / "a", format="native", annotators=["alice"])
    for record in read_jsonl(tmp_path / "a" / "data" / "train.jsonl"):
        assert {a["annotator"] for s in record["steps"] for a in s["annotations"]} == {"alice"}
    m = run(labelled_project, tmp_path / "f", format="trl", only_fully_labeled=True, neutral="drop")
    # All-neutral traces, and those where a 0/+1 tie went neutral and was dropped.
    assert m["skipped_traces"]["not_fully_labelled"] == 4
    m = run(labelled_project, tmp_path / "s", format="trl", source_annotators="only")
    assert m["totals"]["records"] == 0


def test_date_range_filters_labels_by_their_time(labelled_project, tmp_path):
    StepLabel.objects.update(updated_at="2024-03-05T10:00:00Z")
    assert run(labelled_project, tmp_path / "in", format="trl", labeled_from="2024-03-05",
               labeled_to="2024-03-05")["totals"]["records"] > 0
    assert run(labelled_project, tmp_path / "out", format="trl",
               labeled_from="2024-03-06")["totals"]["records"] == 0


def test_old_taxonomy_labels_are_mapped_onto_the_chosen_version(project, annotators, tmp_path):
    alice, _ = annotators
    trace = TraceFactory(project=project, steps=2, content_hash="x")
    labels_add(trace, alice, [1, 0])  # made with version 1
    v1 = project.taxonomy_version
    categories = [dict(c) for c in DEFAULT_CATEGORIES]
    categories[1] = {**categories[1], "key": "no-progress"}
    v2 = taxonomy_version_publish_new(project=project, categories=categories)
    old = {c.key: c for c in Category.objects.filter(version=v1)}
    new = {c.key: c for c in Category.objects.filter(version=v2)}
    CategoryMapping.objects.create(from_category=old["positive"], to_version=v2, to_category=new["positive"])
    CategoryMapping.objects.create(from_category=old["neutral"], to_version=v2, to_category=new["no-progress"])
    run(project, tmp_path / "v2", format="native")
    record = read_jsonl(tmp_path / "v2" / "data" / "train.jsonl")[0]
    assert [s["annotations"][0]["category"] for s in record["steps"]] == ["positive", "no-progress"]
    assert record["taxonomy_version"] == 2
    manifest = run(project, tmp_path / "v1", format="native", taxonomy_version=1)
    assert manifest["taxonomy"]["version"] == 1


def test_gold_export_reads_gold_labels_and_native_carries_them(labelled_project, tmp_path):
    step = Step.objects.filter(trace__external_id="t4").order_by("index").first()
    negative = Category.objects.get(version=labelled_project.taxonomy_version, key="negative")
    GoldLabel.objects.create(step=step, trace=step.trace, category=negative, polarity=-1, method="lead")
    run(labelled_project, tmp_path / "g", format="processbench", aggregate="gold")
    records = read_jsonl(tmp_path / "g" / "data" / "train.jsonl")
    assert [(r["id"], r["label"]) for r in records] == [("t4", 0)]
    run(labelled_project, tmp_path / "n", format="native", aggregate="soft", min_annotators=2)
    native = {r["external_id"]: r for r in read_jsonl(tmp_path / "n" / "data" / "train.jsonl")}
    assert native["t4"]["steps"][0]["gold"]["polarity"] == -1
    assert native["t3"]["steps"][0]["shares"] == {"negative": 0.5, "neutral": 0.0, "positive": 0.5}
    assert native["t2"]["steps"][2]["shares"] is None


def test_annotator_export_uses_only_that_persons_labels(labelled_project, tmp_path):
    run(labelled_project, tmp_path, format="prm800k", aggregate="annotator:alice")
    records = {r["question"]["problem"]: r for r in read_jsonl(tmp_path / "data" / "train.jsonl")}
    record = records["Problem 3: what is 3*3?"]
    assert record["labeler"] == "alice"
    assert [s["completions"][0]["rating"] for s in record["label"]["steps"]] == [-1, 1, 1]


@pytest.mark.parametrize("file_format", ["jsonl", "parquet"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_hugging_face_datasets_loads_every_format(labelled_project, tmp_path, fmt, file_format):
    options = {"format": fmt, "file_format": file_format, "split": "0.6,0.4,0"}
    if fmt == "native":
        options["aggregate"] = "soft"
    manifest = run(labelled_project, tmp_path / "out", **options)
    data_files = {f["split"]: str(tmp_path / "out" / f["path"]) for f in manifest["files"]}
    loaded = datasets.load_dataset(
        "json" if file_format == "jsonl" else "parquet", data_files=data_files,
        cache_dir=str(tmp_path / "hf-cache"),
    )
    for split, counts in manifest["counts"].items():
        if counts["records"]:
            assert loaded[split].num_rows == counts["records"]
    if fmt == "trl":
        feature = loaded["train"].features["labels"]
        inner = getattr(feature, "feature", None) or feature
        assert inner.dtype == "bool"
        assert all(isinstance(x, bool) for row in loaded["train"]["labels"] for x in row)


def test_a_mapping_that_changes_polarity_is_followed_in_binary_formats(project, annotators, tmp_path):
    alice, _ = annotators
    trace = TraceFactory(project=project, steps=2, content_hash="m")
    labels_add(trace, alice, [1, 0])  # version 1: positive, neutral
    v1 = project.taxonomy_version
    v2 = taxonomy_version_publish_new(
        project=project, categories=[DEFAULT_CATEGORIES[0], DEFAULT_CATEGORIES[2]]
    )
    old = {c.key: c for c in Category.objects.filter(version=v1)}
    new = {c.key: c for c in Category.objects.filter(version=v2)}
    CategoryMapping.objects.create(from_category=old["positive"], to_version=v2, to_category=new["positive"])
    # Version 2 has no neutral: "no progress" now counts as wrong.
    CategoryMapping.objects.create(from_category=old["neutral"], to_version=v2, to_category=new["negative"])
    run(project, tmp_path / "v2", format="trl", neutral="positive")
    assert read_jsonl(tmp_path / "v2" / "data" / "train.jsonl")[0]["labels"] == [True, False]
    run(project, tmp_path / "v1", format="trl", neutral="positive", taxonomy_version=1)
    assert read_jsonl(tmp_path / "v1" / "data" / "train.jsonl")[0]["labels"] == [True, True]


def test_labels_of_an_unmapped_older_version_are_left_out(project, annotators, tmp_path):
    alice, _ = annotators
    trace = TraceFactory(project=project, steps=1, content_hash="u")
    labels_add(trace, alice, [1])
    taxonomy_version_publish_new(project=project, categories=DEFAULT_CATEGORIES)
    manifest = run(project, tmp_path, format="trl")
    assert manifest["totals"]["records"] == 0 and manifest["skipped_traces"]["no_usable_labels"] == 1
