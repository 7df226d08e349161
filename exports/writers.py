"""File writers: JSONL with orjson and Parquet with pyarrow, both streaming and deterministic."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Protocol

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

_str = pa.string()
_labels_by_annotator = pa.list_(pa.struct([
    ("annotator", _str), ("category", _str), ("is_source", pa.bool_()), ("is_unsure", pa.bool_()),
    ("labeled_at", _str), ("polarity", pa.int8()), ("rationale", _str),
    ("seconds_spent", pa.float64()),
]))
_shares = pa.struct([("negative", pa.float64()), ("neutral", pa.float64()), ("positive", pa.float64())])
_completion = pa.struct([("flagged", pa.bool_()), ("rating", pa.int8()), ("text", _str)])

PARQUET_SCHEMAS: dict[str, pa.Schema] = {
    "trl": pa.schema([
        ("completions", pa.list_(_str)), ("labels", pa.list_(pa.bool_())), ("prompt", _str),
    ]),
    "rlhflow": pa.schema([
        ("conversations", pa.list_(pa.struct([("content", _str), ("role", _str)]))),
    ]),
    "math-shepherd": pa.schema([("input", _str), ("label", _str), ("task", _str)]),
    "processbench": pa.schema([
        ("final_answer_correct", pa.bool_()), ("generator", _str), ("id", _str),
        ("label", pa.int64()), ("problem", _str), ("steps", pa.list_(_str)),
    ]),
    "prm800k": pa.schema([
        ("generation", pa.int64()), ("is_initial_screening_question", pa.bool_()),
        ("is_quality_control_question", pa.bool_()),
        ("label", pa.struct([
            ("finish_reason", _str),
            ("steps", pa.list_(pa.struct([
                ("chosen_completion", pa.int64()),
                ("completions", pa.list_(_completion)),
                ("human_completion", _completion),
            ]))),
            ("total_time", pa.int64()),
        ])),
        ("labeler", _str),
        ("question", pa.struct([
            ("ground_truth_answer", _str), ("pre_generated_answer", _str),
            ("pre_generated_steps", pa.list_(_str)), ("problem", _str),
        ])),
        ("timestamp", _str),
    ]),
    "native": pa.schema([
        ("external_id", _str), ("final_answer", _str), ("generator", _str),
        ("ground_truth_answer", _str), ("is_outcome_correct", pa.bool_()), ("is_qc", pa.bool_()),
        ("metadata", _str), ("problem", _str), ("source_format", _str),
        ("steps", pa.list_(pa.struct([
            ("annotations", _labels_by_annotator),
            ("gold", pa.struct([("category", _str), ("method", _str), ("polarity", pa.int8())])),
            ("index", pa.int32()), ("label", pa.int8()), ("shares", _shares), ("text", _str),
        ]))),
        ("taxonomy_version", pa.int32()), ("trace_id", pa.int64()),
    ]),
}


class RecordWriter(Protocol):
    path: Path
    records: int

    def write(self, record: dict[str, Any]) -> None: ...
    def close(self) -> None: ...


class JsonlWriter:
    """One JSON object per line, keys sorted, UTF-8, "\\n" line ends: same records, same bytes."""

    def __init__(self, path: Path, buffer_records: int = 2000) -> None:
        self.path = path
        self.records = 0
        self._file = open(path, "wb")  # noqa: SIM115  (closed in close())
        self._buffer: list[bytes] = []
        self._buffer_records = buffer_records

    def write(self, record: dict[str, Any]) -> None:
        self._buffer.append(orjson.dumps(record, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE))
        self.records += 1
        if len(self._buffer) >= self._buffer_records:
            self._file.write(b"".join(self._buffer))
            self._buffer.clear()

    def close(self) -> None:
        self._file.write(b"".join(self._buffer))
        self._buffer.clear()
        self._file.close()


class ParquetWriter:
    """Parquet in row groups of `batch_records`, so memory holds one batch, never the file.

    Options are fixed (zstd level 3, no page index, statistics on) so the same records and
    pyarrow version give the same bytes.
    """

    def __init__(self, path: Path, schema: pa.Schema, batch_records: int = 5000) -> None:
        self.path = path
        self.records = 0
        self._schema = schema
        self._batch: list[dict[str, Any]] = []
        self._batch_records = batch_records
        self._writer = pq.ParquetWriter(
            path, schema, compression="zstd", compression_level=3, use_dictionary=True,
            write_statistics=True, write_page_index=False, store_schema=True,
        )

    def write(self, record: dict[str, Any]) -> None:
        self._batch.append(record)
        self.records += 1
        if len(self._batch) >= self._batch_records:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            self._writer.write_table(pa.Table.from_pylist(self._batch, schema=self._schema))
            self._batch.clear()

    def close(self) -> None:
        self._flush()
        self._writer.close()


def writer_open(path: Path, *, file_format: str, format: str) -> RecordWriter:
    """Return a writer for one data file."""
    if file_format == "parquet":
        return ParquetWriter(path, PARQUET_SCHEMAS[format])
    return JsonlWriter(path)


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
