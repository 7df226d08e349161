"""Trace imports: stream a file into a project in one transaction, all or nothing.

The file is never held in memory. One pass reads, validates and writes it in batches inside a
transaction; every record is validated even after a problem (up to settings.IMPORT_MAX_ERRORS)
so the caller sees them all, and any problem rolls the whole import back. The rows go in
through labeling.services.trace_writer (COPY on PostgreSQL). A trace is identified by the
sha256 of its problem, steps and final answer, so importing a file twice adds nothing, and one
solution rated by two PRM800K labelers becomes one trace with labels from two source annotators.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import (
    DEFAULT_DB_ALIAS,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.utils import timezone

from labeling.errors import ImportRejected
from labeling.importers.detect import format_detect
from labeling.importers.reader import line_count
from labeling.importers.records import FORMATS, ImportIssue, TraceRecord
from labeling.importers.splitters import splitter_from_spec
from labeling.importers.stream import records_iter
from labeling.models import ImportJob, Project, Trace, User
from labeling.services.trace_writer import ImportResult, TaxonomyMap, TraceWriter

BATCH_RECORDS = 2000
Progress = Callable[[int, int], None]


def _reject(path: Path, issues: list[ImportIssue], *, truncated: bool = False) -> ImportRejected:
    count = f"at least {len(issues)}" if truncated else str(len(issues))
    noun = "problem" if len(issues) == 1 else "problems"
    message = f"{path.name}: {count} {noun}; nothing was imported."
    return ImportRejected(message, errors=[i.as_dict() for i in issues])


_LIMITS = {
    "id": Trace._meta.get_field("external_id").max_length,
    "generator": Trace._meta.get_field("generator").max_length,
}


def _record_issues(record: TraceRecord, taxonomy: TaxonomyMap) -> list[ImportIssue]:
    issues: list[ImportIssue] = []
    for field, value in (("id", record.external_id), ("generator", record.generator)):
        if len(value) > _LIMITS[field]:
            issues.append(
                ImportIssue(record.line, field, f"is longer than {_LIMITS[field]} characters")
            )
    for label in record.labels:
        if len(label.annotator) > 100:
            issues.append(
                ImportIssue(record.line, "labels.annotator", "is longer than 100 characters")
            )
        found = taxonomy.category(label)
        if isinstance(found, str):
            issues.append(ImportIssue(record.line, f"labels (step {label.step_index})", found))
            break
    return issues


def trace_import(
    *,
    project: Project,
    path: Path | str,
    format: str = "auto",
    splitter: str | None = None,
    created_by: User | None = None,
    job: ImportJob | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import every trace of a file into the project, all or nothing.

    Raise ImportRejected listing each problem as {line, field, message} (up to
    settings.IMPORT_MAX_ERRORS; line 0 means the whole file); then nothing is written.
    `progress(processed_lines, total_lines)` is called as the file is read. `created_by` is
    accepted for symmetry with the job (which records it); traces do not store an uploader.
    """
    path = Path(path)
    max_line = settings.IMPORT_MAX_LINE_BYTES

    def refuse(field: str, message: str) -> ImportRejected:
        return _reject(path, [ImportIssue(0, field, message)])

    if not path.is_file():
        raise refuse("file", f"no such file: {path}")
    size, max_upload = path.stat().st_size, settings.IMPORT_MAX_UPLOAD_BYTES
    if size > max_upload:
        raise refuse("file", f"the file has {size} bytes, over the limit of {max_upload}")
    if format == "auto":
        format = format_detect(path, max_line_bytes=max_line)
    if format not in FORMATS:
        raise refuse("format", f"unknown format {format!r}; use auto or {', '.join(FORMATS)}")
    splitter = splitter or None
    if splitter is not None and format != "text":
        raise refuse("splitter", f"a splitter applies to text files only, not to {format}")
    if format == "text":
        try:
            splitter_from_spec(splitter)
        except ValueError as exc:
            raise refuse("splitter", str(exc)) from exc

    total = line_count(path)
    report = progress or (lambda processed, total: None)
    taxonomy = TaxonomyMap(project)
    result = ImportResult(format=format, lines=total)

    def records() -> Iterator[tuple[int, TraceRecord | list[ImportIssue]]]:
        return records_iter(path, format=format, splitter=splitter, max_line_bytes=max_line)

    # One pass: batches are written as soon as they are read, inside one transaction, while
    # every record is still validated; any problem rolls the whole import back.
    issues: list[ImportIssue] = []
    max_errors = settings.IMPORT_MAX_ERRORS
    with transaction.atomic(), closing(_prefetched(records(), size=BATCH_RECORDS)) as items:
        writer = TraceWriter(project=project, job=job, taxonomy=taxonomy, result=result)
        batch: list[TraceRecord] = []
        for line, item in items:
            if isinstance(item, list):
                issues.extend(item)
            else:
                result.records += 1
                issues.extend(_record_issues(item, taxonomy))
                if not issues:
                    batch.append(item)
            if len(issues) >= max_errors:
                raise _reject(path, issues[:max_errors], truncated=True)
            if len(batch) >= BATCH_RECORDS:
                writer.write(batch)
                batch = []
            report(line, total)
        if issues:
            raise _reject(path, issues)
        if result.records == 0:
            raise _reject(path, [ImportIssue(1, "file", "the file holds no records")])
        writer.write(batch)
        writer.finish()
    report(total, total)
    return result


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


_DONE = object()


def _prefetched(items: Iterator[Any], *, size: int) -> Iterator[Any]:
    """Yield what `items` yields, produced ahead by a thread so parsing overlaps database waits.

    Parsing is pure Python; psycopg releases the GIL while it waits for PostgreSQL, so the
    next records get parsed while the server ingests the previous batch.
    """
    buffer: queue.Queue[Any] = queue.Queue(maxsize=size)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_Failure(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="trace-import-parser", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()


# Import jobs: an uploaded file imported by a Celery task, with progress a client can poll.


def import_job_create(
    *,
    project: Project,
    upload: File,
    filename: str,
    format: str = "auto",
    splitter: str = "",
    created_by: User | None = None,
) -> ImportJob:
    """Store an uploaded file as a pending import job of the project."""
    if format != "auto" and format not in FORMATS:
        raise ImportRejected(
            f"Unknown format {format!r}.",
            errors=[
                {
                    "line": 0,
                    "field": "format",
                    "message": f"use auto or one of {', '.join(FORMATS)}",
                }
            ],
        )
    job = ImportJob(
        project=project,
        created_by=created_by,
        filename=filename[:255],
        format=format,
        splitter=splitter or "",
    )
    job.file.save(Path(filename).name or "upload", upload, save=False)
    job.save()
    return job


class _ProgressRecorder:
    """Write a job's progress at most twice a second, where pollers can see it.

    Inside the import's transaction an ORM update would stay invisible until commit, so on
    PostgreSQL a second connection writes it (skipping the row if this transaction locks it).
    SQLite allows one writer, so there progress is only written outside transactions.
    """

    interval = 0.5

    def __init__(self, job: ImportJob) -> None:
        self.job_id = job.pk
        self.last = 0.0
        self.side = None

    def __call__(self, processed: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < self.interval and processed < total:
            return
        self.last = now
        if not connection.in_atomic_block:
            ImportJob.objects.filter(pk=self.job_id).update(
                processed_lines=processed, total_lines=total
            )
        elif connection.vendor == "postgresql":
            if self.side is None:
                self.side = connections.create_connection(DEFAULT_DB_ALIAS)
            table = connection.ops.quote_name(ImportJob._meta.db_table)
            with self.side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET processed_lines = %s, total_lines = %s WHERE id = "
                    f"(SELECT id FROM {table} WHERE id = %s FOR NO KEY UPDATE SKIP LOCKED)",
                    [processed, total, self.job_id],
                )

    def close(self) -> None:
        if self.side is not None:
            self.side.close()
            self.side = None


def import_job_run(*, job: ImportJob) -> ImportJob:
    """Run a pending import job, storing its result or its errors; a finished job is left as is."""
    if job.state in (ImportJob.State.SUCCEEDED, ImportJob.State.FAILED):
        return job
    job.state = ImportJob.State.RUNNING
    job.started_at = timezone.now()
    job.save(update_fields=["state", "started_at"])
    recorder = _ProgressRecorder(job)
    try:
        result = trace_import(
            project=job.project,
            path=job.file.path,
            format=job.format or "auto",
            splitter=job.splitter or None,
            created_by=job.created_by,
            job=job,
            progress=recorder,
        )
    except ImportRejected as exc:
        job.state = ImportJob.State.FAILED
        job.errors = exc.errors
        job.result = {"detail": exc.message}
    except OperationalError:
        raise  # the task retries; the import rolled back
    except Exception as exc:
        job.state = ImportJob.State.FAILED
        job.errors = [{"line": 0, "field": "file", "message": f"internal error: {exc}"}]
        job.finished_at = timezone.now()
        job.save(update_fields=["state", "errors", "finished_at"])
        raise
    else:
        job.state = ImportJob.State.SUCCEEDED
        job.result = result.as_dict()
        job.errors = []
        job.processed_lines = job.total_lines = result.lines
    finally:
        recorder.close()
    job.finished_at = timezone.now()
    job.save(
        update_fields=["state", "result", "errors", "processed_lines", "total_lines", "finished_at"]
    )
    return job
