"""Format detection, duplicate ids, and problems collected for the whole file."""

import subprocess
import sys
from pathlib import Path

import pytest

from labeling.importers.detect import format_detect
from labeling.importers.stream import records_iter


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("prm800k_phase1_sample.jsonl", "prm800k"),
        ("prm800k_phase2_sample.jsonl", "prm800k"),
        ("processbench_gsm8k_30.jsonl", "processbench"),
        ("processbench_math_20.json", "processbench"),
        ("math_shepherd_synthetic.jsonl", "math-shepherd"),
        ("trl_synthetic.jsonl", "trl"),
        ("native_sample.jsonl", "native"),
        ("text_steps.txt", "text"),
    ],
)
def test_each_fixture_is_detected(fixtures_dir, name, expected):
    assert format_detect(fixtures_dir / "importers" / name, max_line_bytes=1 << 20) == expected


def test_a_broken_first_line_does_not_hide_the_format(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"prompt": \n{"prompt": "p", "completions": ["a"], "labels": [true]}\n')
    assert format_detect(path, max_line_bytes=1 << 20) == "trl"


def test_unreadable_json_falls_back_to_native_so_the_parse_names_the_problem(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"problem": \n')
    assert format_detect(path, max_line_bytes=1 << 20) == "native"


def test_duplicate_ids_are_reported_on_the_later_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(
        '{"id": "a", "problem": "p", "steps": ["s"]}\n'
        '{"id": "b", "problem": "q", "steps": ["s"]}\n'
        '{"id": "a", "problem": "r", "steps": ["s"]}\n'
    )
    items = list(records_iter(path, format="native", max_line_bytes=1 << 20))
    issue = items[2][1][0]
    assert (issue.line, issue.field) == (3, "id")
    assert "first used on line 1" in issue.message


def test_problems_of_every_line_are_reported_not_only_the_first(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(
        '{"problem": "p"}\nnot json\n{"problem": "p", "steps": ["ok"]}\n{"steps": [1]}\n'
    )
    items = list(records_iter(path, format="native", max_line_bytes=1 << 20))
    found = [(i.line, i.field) for _l, item in items if isinstance(item, list) for i in item]
    assert found == [(1, "steps"), (2, "json"), (4, "problem"), (4, "steps[0]")]


def test_the_importers_package_does_not_import_django():
    """Parsing stays pure: importing every importer module pulls in no Django."""
    code = (
        "import sys\n"
        "import labeling.importers.stream, labeling.importers.detect\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework')], "
        "sorted(m for m in sys.modules if m.startswith('django'))\n"
    )
    root = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
