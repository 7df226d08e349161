"""`manage.py export`: the same writer as the jobs, into a folder."""
import json

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_command_writes_files_manifest_and_card(labelled_project, tmp_path):
    out = tmp_path / "out"
    call_command("export", labelled_project.slug, "--format", "rlhflow", "--split", "0.8,0.1,0.1",
                 "--seed", "5", "--truncate-after-error", "--out", str(out), verbosity=0)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "rlhflow" and manifest["options"]["truncate_after_error"] is True
    assert manifest["options"]["split"] == [0.8, 0.1, 0.1]
    assert (out / "README.md").exists()
    for entry in manifest["files"]:
        assert (out / entry["path"]).stat().st_size == entry["bytes"]


def test_command_output_is_byte_identical_for_the_same_seed(labelled_project, tmp_path):
    args = [labelled_project.slug, "--format", "native", "--aggregate", "soft", "--file-format",
            "parquet", "--split", "0.5,0.5,0", "--seed", "9"]
    call_command("export", *args, "--out", str(tmp_path / "a"), verbosity=0)
    call_command("export", *args, "--out", str(tmp_path / "b"), verbosity=0)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_command_accepts_one_annotators_labels(labelled_project, tmp_path):
    call_command("export", labelled_project.slug, "--format", "prm800k", "--aggregate",
                 "annotator:bob", "--out", str(tmp_path), verbosity=0)
    line = (tmp_path / "data" / "train.jsonl").read_text().splitlines()[0]
    assert json.loads(line)["labeler"] == "bob"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "trl", "--aggregate", "soft"], "aggregate"),
        (["--format", "trl", "--split", "0.9,0.9,0"], "split"),
        (["--format", "trl", "--aggregate", "annotator:ghost"], "ghost"),
    ],
)
def test_command_refuses_bad_options_with_a_clear_message(labelled_project, tmp_path, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("export", labelled_project.slug, *args, "--out", str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_command_refuses_an_unknown_project_and_a_full_folder(labelled_project, tmp_path):
    with pytest.raises(CommandError, match="No project"):
        call_command("export", "nope", "--format", "trl", "--out", str(tmp_path / "x"))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="not empty"):
        call_command("export", labelled_project.slug, "--format", "trl", "--out", str(tmp_path / "full"))
