"""import_traces: prints what was added; refuses a bad file with every error and exits non-zero."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from labeling.models import Project, Step, StepLabel, Trace

pytestmark = pytest.mark.django_db


def _run(*args):
    out, err = StringIO(), StringIO()
    call_command("import_traces", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_traces_steps_labels_and_duplicates(project, fixtures_dir):
    path = str(fixtures_dir / "importers" / "prm800k_phase1_sample.jsonl")
    out, _err = _run("demo-math", path)
    assert "traces added:       3" in out
    assert "steps added:        41" in out
    assert "labels added:       28" in out
    assert "duplicates skipped: 0" in out
    out, _err = _run("demo-math", path)
    assert "traces added:       0" in out and "duplicates skipped: 3" in out
    assert "Nothing new" in out
    assert Trace.objects.count() == 3


def test_create_makes_the_project_with_the_default_taxonomy(db, fixtures_dir):
    out, _err = _run(
        "new-proj", str(fixtures_dir / "importers" / "trl_synthetic.jsonl"), "--create"
    )
    project = Project.objects.get(slug="new-proj")
    keys = set(project.taxonomy_version.categories.values_list("key", flat=True))
    assert keys == {"positive", "neutral", "negative"}
    assert Trace.objects.filter(project=project).count() == 3
    assert "Created project new-proj" in out


def test_an_unknown_project_without_create_is_an_error(db, fixtures_dir):
    with pytest.raises(CommandError, match="--create"):
        _run("nope", str(fixtures_dir / "importers" / "trl_synthetic.jsonl"))


def test_a_bad_file_prints_every_error_exits_non_zero_and_writes_nothing(db, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"problem": "p", "steps": ["a"]}\n{"problem": "q", "steps": 5}\n'
        '{"problem": "r", "steps": ["b", ""]}\n'
    )
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command(
            "import_traces", "fresh", str(path), "--create", "--format", "native", stderr=err
        )
    assert err.getvalue().splitlines() == [
        "line 2, field steps: must be a list of strings, got number",
        "line 3, field steps[1]: is an empty step",
    ]
    # --create is undone too: a refused import leaves the database as it was.
    assert not Project.objects.filter(slug="fresh").exists()
    assert (
        not Trace.objects.exists() and not Step.objects.exists() and not StepLabel.objects.exists()
    )


def test_text_files_take_a_splitter(project, fixtures_dir):
    out, _err = _run(
        "demo-math",
        str(fixtures_dir / "importers" / "text_steps.txt"),
        "--format",
        "text",
        "--splitter",
        "blank-line",
    )
    assert "traces added:       2" in out


def test_the_command_exits_non_zero_from_the_shell(tmp_path):
    """Runs in its own SQLite file, so the test database is not involved."""
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'shell.sqlite3'}"}
    root = Path(__file__).resolve().parents[2]

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], capture_output=True, text=True, cwd=root, env=env
        )

    assert manage("migrate", "-v0").returncode == 0
    proc = manage("import_traces", "shell-proj", str(path), "--create")
    assert proc.returncode == 1
    assert "line 1, field file: the file holds no records" in proc.stderr
