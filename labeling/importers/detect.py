"""Guess a file's format from its first record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from labeling.importers.reader import first_significant_byte, iter_json_values


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


def format_detect(path: Path | str, *, max_line_bytes: int) -> str:
    """Return the format of the file: text unless it starts with JSON, else by its first record.

    A JSON file whose first record cannot be read or matches no shape is taken as native, so
    that the parse reports what is wrong with it line by line.
    """
    first = first_significant_byte(path)
    if first not in (b"{", b"["):
        return "text"
    values = iter_json_values(path, max_line_bytes=max_line_bytes)
    try:
        for _line, value in values:
            return format_of_record(value) or "native"
    finally:
        values.close()
    return "native"
