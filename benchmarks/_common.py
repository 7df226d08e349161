"""Helpers shared by the benchmarks: bulk loading with COPY, per-process CPU time and the
benchmark database's lifetime. Not a benchmark: `python -m benchmarks` skips names starting "_"."""
from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path

# Column orders of the COPY loads (the generators write their rows in these orders).
TRACE_COLUMNS = [
    "id", "project_id", "external_id", "problem", "final_answer", "ground_truth_answer",
    "is_outcome_correct", "generator", "metadata", "source_format", "content_hash",
    "step_count", "is_qc", "import_job_id", "created_at",
]
STEP_COLUMNS = ["id", "trace_id", "index", "text"]
STEPLABEL_COLUMNS = [
    "step_id", "trace_id", "annotator_id", "category_id", "polarity", "rationale",
    "is_unsure", "created_at", "updated_at",
]


def copy_tsv(cursor, table: str, columns: list[str], rows: io.StringIO) -> None:
    """COPY tab-separated lines (the whole buffer, from its start) into table, 1 MB at a time;
    cursor is a psycopg 3 cursor."""
    rows.seek(0)
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        while chunk := rows.read(1 << 20):
            copy.write(chunk)


def copy_rows(cursor, table: str, columns: list[str], rows: Iterable[tuple]) -> None:
    """COPY tuples (None as NULL) into table."""
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row))
        buffer.write("\n")
    copy_tsv(cursor, table, columns, buffer)


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a local process has used so far, from /proc (Linux).

    Wall times on a busy machine include waiting for a core; CPU time is what the work costs
    when a core is free. Raises OSError when the process is gone."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def recreate_database(admin_conninfo: str, name: str) -> None:
    """Drop (disconnecting its sessions) and create the benchmark database `name`."""
    import psycopg

    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(admin_conninfo: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
