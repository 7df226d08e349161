"""Read a file of any supported format as a stream of trace records or per-record issues."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from labeling.importers import math_shepherd, native, prm800k, processbench, text, trl
from labeling.importers.reader import iter_json_values
from labeling.importers.records import FORMATS, ImportIssue, RecordInvalid, TraceRecord
from labeling.importers.splitters import splitter_from_spec

PARSERS: dict[str, Callable[..., TraceRecord]] = {
    "native": native.parse,
    "prm800k": prm800k.parse,
    "processbench": processbench.parse,
    "math-shepherd": math_shepherd.parse,
    "trl": trl.parse,
}

Item = TraceRecord | list[ImportIssue]


def records_iter(
    path: Path | str, *, format: str, splitter: str | None = None, max_line_bytes: int
) -> Iterator[tuple[int, Item]]:
    """Yield (line, record) or (line, issues) for every record of the file, in file order.

    Raises ValueError for an unknown format or splitter. Ids repeated inside the file are
    reported on the later record.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    if format == "text":
        split = splitter_from_spec(splitter)
        for line, block in text.iter_blocks(path, max_line_bytes=max_line_bytes):
            if isinstance(block, ImportIssue):
                yield line, [block]
                continue
            try:
                yield line, text.parse_block(block, line=line, splitter=split)
            except RecordInvalid as exc:
                yield line, exc.issues
        return
    parse = PARSERS[format]
    first_line_of_id: dict[str, int] = {}
    for line, value in iter_json_values(path, max_line_bytes=max_line_bytes):
        if isinstance(value, ImportIssue):
            yield line, [value]
            continue
        try:
            record = parse(value, line=line)
        except RecordInvalid as exc:
            yield line, exc.issues
            continue
        if record.external_id:
            earlier = first_line_of_id.setdefault(record.external_id, line)
            if earlier != line:
                field = "labeler/timestamp" if format == "prm800k" else "id"
                yield (
                    line,
                    [
                        ImportIssue(
                            line,
                            field,
                            f"duplicate id {record.external_id!r}: first used on line {earlier}",
                        )
                    ],
                )
                continue
        yield line, record
