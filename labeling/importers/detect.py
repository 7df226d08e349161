"""Guess a file's format from its first record."""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

from labeling.importers.reader import first_significant_byte, iter_json_values
from labeling.importers.records import ImportIssue


def format_of_record(record: Any) -> str | None:
    """Return the format whose shape this decoded record has, or None."""
    if not isinstance(record, dict):
        return None
    keys = record.keys()
    if "question" in keys and isinstance(record.get("label"), dict):
        return "prm800k"
    if "prompt" in keys and "completions" in keys:
        return "trl"
    if "input" in keys and isinstance(record.get("label"), str):
        return "math-shepherd"
    if "steps" in keys and "problem" in keys:
        if "final_answer_correct" in keys or (
            "label" in keys
            and not isinstance(record.get("label"), list | dict)
            and "labels" not in keys
        ):
            return "processbench"
        return "native"
    return None


def format_detect(path: Path | str, *, max_line_bytes: int, sample: int = 100) -> str:
    """Return the file's format: text unless it starts with JSON, else by its first good record.

    Unreadable records are passed over (the parse reports them); a JSON file with no record of
    a known shape among the first `sample` is taken as native, so that the parse says, line by
    line, what is missing.
    """
    first = first_significant_byte(path)
    if first not in (b"{", b"["):
        return "text"
    values = iter_json_values(path, max_line_bytes=max_line_bytes)
    try:
        for _line, value in islice(values, sample):
            if isinstance(value, ImportIssue):
                continue
            return format_of_record(value) or "native"
    finally:
        values.close()
    return "native"
