"""Stream JSON values out of a JSONL file or a JSON array file, with bounded memory.

Every value comes with the 1-based line it starts on. Problems (malformed JSON, non-UTF-8
bytes, an over-long line) come out as ImportIssue items in the same stream, so a caller can
collect them for the whole file. A JSONL file recovers at the next line; a JSON array cannot
be resynchronised after a syntax error, so it stops there.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from labeling.importers.records import ImportIssue

CHUNK_BYTES = 1 << 20
BOM = b"\xef\xbb\xbf"


def first_significant_byte(path: Path | str) -> bytes:
    """Return the first byte that is not whitespace or a UTF-8 BOM (b"" for a blank file)."""
    with open(path, "rb") as f:
        while True:
            chunk = f.read(4096)
            if not chunk:
                return b""
            if chunk.startswith(BOM):
                chunk = chunk[len(BOM) :]
            stripped = chunk.lstrip()
            if stripped:
                return stripped[:1]


def line_count(path: Path | str) -> int:
    """Count lines quickly (a last line without a newline counts too)."""
    count = 0
    last = b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (0 if last == b"\n" else 1)


def iter_lines(f: BinaryIO, *, max_line_bytes: int) -> Iterator[tuple[int, str | ImportIssue]]:
    """Yield (line number, decoded line without its newline) or an issue for a bad line."""
    line_no = 0
    while True:
        raw = f.readline(max_line_bytes + 2)
        if not raw:
            return
        line_no += 1
        if line_no == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        content = raw.rstrip(b"\r\n")
        if len(content) > max_line_bytes:
            while raw and not raw.endswith(b"\n"):
                raw = f.readline(CHUNK_BYTES)
            yield (
                line_no,
                ImportIssue(
                    line_no, "line", f"the line is longer than the limit of {max_line_bytes} bytes"
                ),
            )
            continue
        try:
            yield line_no, content.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield line_no, _encoding_issue(line_no, content, exc)


def _encoding_issue(line_no: int, content: bytes, exc: UnicodeDecodeError) -> ImportIssue:
    column = len(content[: exc.start].decode("utf-8", errors="replace")) + 1
    return ImportIssue(
        line_no,
        "encoding",
        f"not UTF-8: byte 0x{content[exc.start]:02x} at column {column}; save the file as UTF-8",
    )


def iter_json_values(
    path: Path | str, *, max_line_bytes: int
) -> Generator[tuple[int, Any | ImportIssue], None, None]:
    """Yield (line, value) for each record of a JSONL file or of a top-level JSON array."""
    if first_significant_byte(path) == b"[":
        with open(path, "rb") as f:
            yield from _iter_array(f, max_element_bytes=max_line_bytes)
        return
    with open(path, "rb") as f:
        yield from _iter_jsonl(f, max_line_bytes=max_line_bytes)


def _iter_jsonl(f: BinaryIO, *, max_line_bytes: int) -> Iterator[tuple[int, Any | ImportIssue]]:
    for line_no, item in iter_lines(f, max_line_bytes=max_line_bytes):
        if isinstance(item, ImportIssue):
            yield line_no, item
        elif item.strip():
            try:
                yield line_no, orjson.loads(item)
            except orjson.JSONDecodeError as exc:
                yield line_no, ImportIssue(line_no, "json", f"malformed JSON: {exc}")


class _ArrayStream:
    """A growing text buffer over a binary file, with the line number of its read position."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.buf = ""
        self.pos = 0
        self.line = 1
        self.eof = False

    def fill(self) -> None:
        """Read one more chunk; raise ImportIssue-carrying ValueError on bad UTF-8."""
        chunk = self.f.read(CHUNK_BYTES)
        if not chunk:
            self.eof = True
            tail = self.decoder.decode(b"", final=True)
        else:
            try:
                tail = self.decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line = self.line + self.buf.count("\n", self.pos) + chunk[: exc.start].count(b"\n")
                raise _StreamError(
                    ImportIssue(
                        line,
                        "encoding",
                        f"not UTF-8: byte 0x{chunk[exc.start]:02x}; save the file as UTF-8",
                    )
                ) from exc
        if self.pos > CHUNK_BYTES:
            self.buf = self.buf[self.pos :]
            self.pos = 0
        self.buf += tail

    def advance(self, to: int) -> None:
        self.line += self.buf.count("\n", self.pos, to)
        self.pos = to

    def skip_space(self) -> str:
        """Move past whitespace; return the next character, or "" at the end of the file."""
        while True:
            buf, pos = self.buf, self.pos
            n = len(buf)
            while pos < n and buf[pos] in " \t\r\n":
                pos += 1
            self.advance(pos)
            if pos < n:
                return buf[pos]
            if self.eof:
                return ""
            self.fill()


class _StreamError(Exception):
    def __init__(self, issue: ImportIssue) -> None:
        super().__init__(str(issue))
        self.issue = issue


def _iter_array(f: BinaryIO, *, max_element_bytes: int) -> Iterator[tuple[int, Any | ImportIssue]]:
    stream = _ArrayStream(f)
    decoder = json.JSONDecoder()
    try:
        stream.skip_space()
        stream.advance(stream.pos + 1)  # the "[" found by first_significant_byte
        expect_value = True
        first = True
        while True:
            char = stream.skip_space()
            if char == "":
                yield (
                    stream.line,
                    ImportIssue(
                        stream.line, "json", "malformed JSON: the array is not closed with ]"
                    ),
                )
                return
            if char == "]" and (first or not expect_value):
                stream.advance(stream.pos + 1)
                break
            if not expect_value:
                if char != ",":
                    yield (
                        stream.line,
                        ImportIssue(
                            stream.line,
                            "json",
                            f"malformed JSON: expected , or ] but found {char!r}",
                        ),
                    )
                    return
                stream.advance(stream.pos + 1)
                expect_value = True
                continue
            start_line = stream.line
            while True:
                try:
                    value, end = decoder.raw_decode(stream.buf, stream.pos)
                    if end < len(stream.buf) or stream.eof:
                        break
                except json.JSONDecodeError as exc:
                    if stream.eof or len(stream.buf) - stream.pos > max_element_bytes:
                        if len(stream.buf) - stream.pos > max_element_bytes:
                            message = (
                                f"the record is longer than the limit of {max_element_bytes} bytes"
                            )
                            yield start_line, ImportIssue(start_line, "line", message)
                        else:
                            line = stream.line + stream.buf.count("\n", stream.pos, exc.pos)
                            yield line, ImportIssue(line, "json", f"malformed JSON: {exc.msg}")
                        return
                stream.fill()
            if end - stream.pos > max_element_bytes:
                yield (
                    start_line,
                    ImportIssue(
                        start_line,
                        "line",
                        f"the record is longer than the limit of {max_element_bytes} bytes",
                    ),
                )
                stream.advance(end)
            else:
                stream.advance(end)
                yield start_line, value
            expect_value = False
            first = False
        if stream.skip_space() != "":
            yield (
                stream.line,
                ImportIssue(stream.line, "json", "malformed JSON: text after the closing ]"),
            )
    except _StreamError as exc:
        yield exc.issue.line, exc.issue
