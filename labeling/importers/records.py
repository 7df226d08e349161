"""The common shape every importer produces, and the problems it reports."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeGuard

import orjson

FORMATS: tuple[str, ...] = ("native", "prm800k", "processbench", "math-shepherd", "trl", "text")


@dataclass(frozen=True, slots=True)
class ImportIssue:
    """One problem in a file: 1-based line (0 = the whole file), the field, and what is wrong."""

    line: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        return f"line {self.line}, field {self.field}: {self.message}"


class RecordInvalid(Exception):
    """A record that cannot be imported; carries every issue found in it."""

    def __init__(self, issues: list[ImportIssue]) -> None:
        super().__init__("; ".join(str(i) for i in issues))
        self.issues = issues


class SourceLabel(NamedTuple):
    """A label that came with the file (a named tuple: files hold millions of them).

    `annotator` names the labeler inside the source ("" = the source itself, e.g. ProcessBench's
    experts as one annotator); `category` is a taxonomy key when the file names one.
    """

    step_index: int
    polarity: int
    annotator: str = ""
    is_unsure: bool = False
    category: str = ""


@dataclass(slots=True)
class TraceRecord:
    """One trace as read from a file, before it meets the database."""

    problem: str
    steps: list[str]
    source_format: str
    source: str
    line: int = 0
    final_answer: str = ""
    ground_truth_answer: str = ""
    is_outcome_correct: bool | None = None
    generator: str = ""
    external_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    labels: list[SourceLabel] = field(default_factory=list)

    def content_hash(self) -> str:
        """Return sha256 over problem, steps and final answer: the identity used for dedupe."""
        payload = orjson.dumps([self.problem, self.steps, self.final_answer])
        return hashlib.sha256(payload).hexdigest()


class Checker:
    """Collect field problems of one record instead of stopping at the first."""

    def __init__(self, line: int) -> None:
        self.line = line
        self.issues: list[ImportIssue] = []

    def add(self, field_name: str, message: str) -> None:
        self.issues.append(ImportIssue(self.line, field_name, message))

    def raise_if_any(self) -> None:
        if self.issues:
            raise RecordInvalid(self.issues)

    def record(self, value: Any) -> dict[str, Any]:
        """Return the top-level record, raising at once when it is not a JSON object."""
        record = self.object(value)
        self.raise_if_any()
        assert record is not None
        return record

    def object(self, value: Any, name: str = "record") -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.add(name, f"expected a JSON object, got {type_name(value)}")
            return None
        return value

    def string(
        self,
        obj: dict[str, Any],
        key: str,
        *,
        name: str | None = None,
        required: bool = True,
        allow_empty: bool = False,
    ) -> str:
        name = name or key
        if key not in obj or obj[key] is None:
            if required:
                self.add(name, "missing" if key not in obj else "must be a string, got null")
            return ""
        value = obj[key]
        if not isinstance(value, str):
            self.add(name, f"must be a string, got {type_name(value)}")
            return ""
        if not allow_empty and required and not value.strip():
            self.add(name, "is empty")
        self.text(value, name)
        return value

    def text(self, value: str, name: str) -> None:
        if "\x00" in value:
            self.add(name, "contains a NUL character")

    def optional_id(self, obj: dict[str, Any], key: str = "id") -> str:
        """Return the record's own id as text ("" when absent); a string or an integer."""
        value = obj.get(key)
        if value is None:
            return ""
        if isinstance(value, str) or is_int(value):
            return str(value)
        self.add(key, f"must be a string or an integer, got {type_name(value)}")
        return ""

    def optional_bool(self, obj: dict[str, Any], key: str, *, name: str | None = None) -> bool | None:
        value = obj.get(key)
        if value is None or isinstance(value, bool):
            return value
        self.add(name or key, f"must be true, false or null, got {type_name(value)}")
        return None

    def steps(self, obj: dict[str, Any], key: str, *, name: str | None = None) -> list[str]:
        """Return a non-empty list of non-empty step strings, reporting each bad element."""
        name = name or key
        if key not in obj:
            self.add(name, "missing")
            return []
        value = obj[key]
        if not isinstance(value, list):
            self.add(name, f"must be a list of strings, got {type_name(value)}")
            return []
        if not value:
            self.add(name, "is an empty list: a trace needs at least one step")
            return []
        for i, step in enumerate(value):
            if not isinstance(step, str):
                self.add(f"{name}[{i}]", f"must be a string, got {type_name(step)}")
            elif not step.strip():
                self.add(f"{name}[{i}]", "is an empty step")
            else:
                self.text(step, f"{name}[{i}]")
        return value


def type_name(value: Any) -> str:
    """Name a decoded JSON value's type the way JSON does."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
