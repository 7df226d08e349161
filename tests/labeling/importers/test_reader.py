"""Streaming JSONL and JSON arrays: values with their line numbers, problems as issues."""

import json

import pytest

from labeling.importers import reader
from labeling.importers.reader import iter_json_values, line_count
from labeling.importers.records import ImportIssue


def _values(path, max_line_bytes=1 << 20):
    return list(iter_json_values(path, max_line_bytes=max_line_bytes))


def test_jsonl_values_come_with_their_line_numbers_and_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2}\n')
    assert _values(path) == [(1, {"a": 1}), (3, {"a": 2})]


def test_a_utf8_bom_is_ignored(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n')
    assert _values(path) == [(1, {"a": 1})]


def test_malformed_json_is_reported_and_the_next_lines_are_still_read(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n{"a": \n{"a": 3}\n')
    values = _values(path)
    assert values[0] == (1, {"a": 1})
    assert isinstance(values[1][1], ImportIssue)
    assert (values[1][1].line, values[1][1].field) == (2, "json")
    assert values[2] == (3, {"a": 3})


def test_non_utf8_bytes_are_reported_with_line_and_column(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": "caf\xe9"}\n')
    issue = _values(path)[1][1]
    assert (issue.line, issue.field) == (2, "encoding")
    assert "0xe9" in issue.message and "column 11" in issue.message


def test_an_over_long_line_is_reported_without_reading_it_whole(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n{"a": "' + "x" * 500 + '"}\n{"a": 3}\n')
    values = _values(path, max_line_bytes=100)
    assert values[1][1] == ImportIssue(2, "line", "the line is longer than the limit of 100 bytes")
    assert values[2] == (3, {"a": 3})


def test_a_pretty_printed_json_array_streams_elements_with_their_first_line(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "CHUNK_BYTES", 16)  # force many refills mid-element
    records = [{"id": i, "text": "ü" * i} for i in range(5)]
    path = tmp_path / "a.json"
    path.write_text(json.dumps(records, indent=2, ensure_ascii=False))
    values = _values(path)
    assert [v for _line, v in values] == records
    assert [line for line, _v in values] == [2, 6, 10, 14, 18]


def test_a_compact_json_array_and_an_empty_array_are_read(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('[{"a": 1},{"a": 2}]')
    assert _values(path) == [(1, {"a": 1}), (1, {"a": 2})]
    path.write_text(" [ ] \n")
    assert _values(path) == []


@pytest.mark.parametrize(
    ("content", "line"),
    [('[\n{"a": 1},\n{"a": }\n]', 3), ('[\n{"a": 1}\n{"a": 2}\n]', 3), ('[\n{"a": 1},\n', 3)],
)
def test_a_broken_json_array_stops_with_the_line_of_the_problem(tmp_path, content, line):
    path = tmp_path / "a.json"
    path.write_text(content)
    values = _values(path)
    issue = values[-1][1]
    assert isinstance(issue, ImportIssue)
    assert (issue.line, issue.field) == (line, "json")


def test_non_utf8_inside_a_json_array_is_reported(tmp_path):
    path = tmp_path / "a.json"
    path.write_bytes(b'[\n{"a": 1},\n{"a": "\xff"}\n]')
    issue = _values(path)[-1][1]
    assert (issue.line, issue.field) == (3, "encoding")


def test_an_over_long_array_element_is_refused(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('[{"a": "' + "x" * 300 + '"}]')
    issue = _values(path, max_line_bytes=100)[-1][1]
    assert issue.field == "line" and "100 bytes" in issue.message


def test_line_count_counts_a_last_line_without_newline(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("a\nb\nc")
    assert line_count(path) == 3
    path.write_text("a\nb\n")
    assert line_count(path) == 2
