"""Raw text traces, divided into steps by a splitter.

A file holds one trace, or several separated by a line that is exactly `===`. In each trace
the first paragraph (up to the first blank line) is the problem and the rest is the solution,
which the splitter divides into steps. A last step that starts with "Answer:" or "# Answer"
also gives the final answer. Text traces carry no labels.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from labeling.importers.reader import iter_lines
from labeling.importers.records import ImportIssue, RecordInvalid, TraceRecord
from labeling.importers.splitters import Splitter

FORMAT = "text"
SEPARATOR = "==="
_ANSWER = re.compile(r"^(?:#\s*Answer\s*:?|Answer\s*:)\s*(.+)$", re.DOTALL | re.IGNORECASE)


def iter_blocks(
    path: Path | str, *, max_line_bytes: int
) -> Iterator[tuple[int, list[str] | ImportIssue]]:
    """Yield (first line, lines of one trace) per `===`-separated block, or line issues."""
    block: list[str] = []
    start = 0
    with open(path, "rb") as f:
        for line_no, item in iter_lines(f, max_line_bytes=max_line_bytes):
            if isinstance(item, ImportIssue):
                yield line_no, item
                continue
            if item.strip() == SEPARATOR:
                if any(x.strip() for x in block):
                    yield start, block
                block, start = [], 0
                continue
            if not block and not item.strip():
                continue
            if not block:
                start = line_no
            block.append(item)
    if any(x.strip() for x in block):
        yield start, block


def parse_block(lines: list[str], *, line: int, splitter: Splitter) -> TraceRecord:
    """Return the trace in one block of text lines, or raise RecordInvalid."""
    text = "\n".join(lines).strip()
    if "\x00" in text:
        raise RecordInvalid([ImportIssue(line, "text", "contains a NUL character")])
    parts = re.split(r"\n[ \t]*\n", text, maxsplit=1)
    problem = parts[0].strip()
    solution = parts[1] if len(parts) > 1 else ""
    steps = splitter(solution)
    if not steps:
        raise RecordInvalid(
            [
                ImportIssue(
                    line,
                    "steps",
                    "no solution after the problem paragraph: a trace needs at least one step",
                )
            ]
        )
    match = _ANSWER.match(steps[-1])
    return TraceRecord(
        problem=problem,
        steps=steps,
        source_format=FORMAT,
        source=FORMAT,
        line=line,
        final_answer=match.group(1).strip() if match else "",
    )
