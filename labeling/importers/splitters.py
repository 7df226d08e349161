"""Step splitters for raw text: one step per line, per blank line, per "Step N:" marker, or a regex.

A splitter only decides where steps begin and end; it never rewrites the text (a "Step 2:"
marker stays at the start of its step). Whitespace-only pieces are dropped, the rest stripped.
"""

from __future__ import annotations

import re
from collections.abc import Callable

SPLITTERS = ("line", "blank-line", "step-marker", "regex:PATTERN")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_STEP_MARKER = re.compile(r"(?im)^[ \t]*(?:#+\s*)?step\s*\d+\s*[:.)]")

Splitter = Callable[[str], list[str]]


def splitter_from_spec(spec: str | None) -> Splitter:
    """Return the splitter named by `spec`; raise ValueError naming what is wrong."""
    spec = spec or "line"
    if spec == "line":
        return _by_line
    if spec == "blank-line":
        return _by_blank_line
    if spec == "step-marker":
        return _by_marker(_STEP_MARKER)
    if spec.startswith("regex:"):
        pattern = spec[len("regex:") :]
        if not pattern:
            raise ValueError("regex: needs a pattern, e.g. regex:\\n---\\n")
        try:
            compiled = re.compile(pattern, re.MULTILINE)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc
        if compiled.search("") is not None:
            raise ValueError(f"the regular expression {pattern!r} matches the empty string")
        return _by_separator(compiled)
    raise ValueError(f"unknown splitter {spec!r}; use one of {', '.join(SPLITTERS)}")


def _clean(pieces: list[str]) -> list[str]:
    return [p.strip() for p in pieces if p.strip()]


def _by_line(text: str) -> list[str]:
    return _clean(text.splitlines())


def _by_blank_line(text: str) -> list[str]:
    return _clean(_BLANK_LINE.split(text.replace("\r\n", "\n")))


def _by_separator(pattern: re.Pattern[str]) -> Splitter:
    def split(text: str) -> list[str]:
        pieces, start = [], 0
        for match in pattern.finditer(text):
            pieces.append(text[start : match.start()])
            start = match.end()
        pieces.append(text[start:])
        return _clean(pieces)

    return split


def _by_marker(pattern: re.Pattern[str]) -> Splitter:
    def split(text: str) -> list[str]:
        starts = [m.start() for m in pattern.finditer(text)]
        if not starts:
            return _clean([text])
        bounds = [0, *starts] if starts[0] > 0 else starts
        return _clean([text[a:b] for a, b in zip(bounds, [*bounds[1:], len(text)], strict=True)])

    return split
