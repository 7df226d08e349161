"""Trace imports: stream a file into a project in one transaction, all or nothing.

The file is never held in memory. One pass reads, validates and writes it in batches inside a
transaction; every record is validated even after a problem (up to settings.IMPORT_MAX_ERRORS)
so the caller sees them all, and any problem rolls the whole import back. On PostgreSQL rows go
in with COPY; elsewhere with bulk_create. A trace is identified by the sha256 of its problem,
steps and final answer, so importing a file twice adds nothing, and one solution rated by two
PRM800K labelers becomes one trace with labels from two source annotators.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.core.files import File
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.utils import timezone

from labeling.errors import ImportRejected
from labeling.importers.detect import format_detect
from labeling.importers.reader import line_count
from labeling.importers.records import FORMATS, ImportIssue, SourceLabel, TraceRecord
from labeling.importers.splitters import splitter_from_spec
from labeling.importers.stream import records_iter
from labeling.models import Category, ImportJob, Project, Step, StepLabel, Trace, User
from labeling.services.projects import source_annotator_get_or_create

BATCH_RECORDS = 2000
_IMPORT_LOCK = 0x494D50  # advisory-lock namespace of trace imports ("IMP")
Progress = Callable[[int, int], None]


@dataclass
class ImportResult:
    """What one import added, and what it found already there."""

    format: str
    records: int = 0
    traces_added: int = 0
    steps_added: int = 0
    labels_added: int = 0
    duplicates_skipped: int = 0
    labels_skipped: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"{self.records} records ({self.format}): {self.traces_added} traces, "
            f"{self.steps_added} steps and {self.labels_added} labels added; "
            f"{self.duplicates_skipped} duplicate traces and {self.labels_skipped} "
            f"existing labels skipped."
        )


def _reject(path: Path, issues: list[ImportIssue], *, truncated: bool = False) -> ImportRejected:
    count = f"at least {len(issues)}" if truncated else str(len(issues))
    noun = "problem" if len(issues) == 1 else "problems"
    message = f"{path.name}: {count} {noun}; nothing was imported."
    return ImportRejected(message, errors=[i.as_dict() for i in issues])


class _TaxonomyMap:
    """Source labels onto the project's current taxonomy: by key, else top-level by polarity."""

    def __init__(self, project: Project) -> None:
        categories: list[Category] = []
        if project.taxonomy_version_id is not None:
            categories = list(Category.objects.filter(version_id=project.taxonomy_version_id))
        self.by_key = {c.key: c for c in categories}
        self.by_polarity: dict[int, Category] = {}
        for c in sorted(categories, key=lambda c: (c.position, c.pk)):
            if c.parent_id is None:
                self.by_polarity.setdefault(c.polarity, c)

    def category(self, label: SourceLabel) -> Category | str:
        """Return the category for a source label, or a message saying why there is none."""
        if label.category:
            category = self.by_key.get(label.category)
            if category is None:
                return f"category {label.category!r} is not in the project's taxonomy"
            if category.polarity != label.polarity:
                return (
                    f"category {label.category!r} has polarity {category.polarity}, "
                    f"not {label.polarity}"
                )
            return category
        category = self.by_polarity.get(label.polarity)
        if category is None:
            return f"the project's taxonomy has no top-level category of polarity {label.polarity}"
        return category


_LIMITS = {
    "id": Trace._meta.get_field("external_id").max_length,
    "generator": Trace._meta.get_field("generator").max_length,
}


def _record_issues(record: TraceRecord, taxonomy: _TaxonomyMap) -> list[ImportIssue]:
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
    taxonomy = _TaxonomyMap(project)
    result = ImportResult(format=format)

    def records() -> Iterator[tuple[int, TraceRecord | list[ImportIssue]]]:
        return records_iter(path, format=format, splitter=splitter, max_line_bytes=max_line)

    # One pass: batches are written as soon as they are read, inside one transaction, while
    # every record is still validated; any problem rolls the whole import back.
    issues: list[ImportIssue] = []
    max_errors = settings.IMPORT_MAX_ERRORS
    with transaction.atomic(), closing(_prefetched(records(), size=BATCH_RECORDS)) as items:
        writer = _Writer(project=project, job=job, taxonomy=taxonomy, result=result)
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


def _copy_text(value: str) -> str:
    """Escape a string for PostgreSQL's COPY text format."""
    return (
        value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    )


def _merge_metadata(target: dict[str, Any], incoming: dict[str, Any]) -> bool:
    """Append the incoming record's labelings (PRM800K labelers) to a trace's metadata."""
    new = incoming.get("labelings")
    if not isinstance(new, list):
        return False
    known = target.setdefault("labelings", [])
    seen = {(x.get("labeler"), x.get("timestamp")) for x in known if isinstance(x, dict)}
    changed = False
    for labeling in new:
        key = (labeling.get("labeler"), labeling.get("timestamp"))
        if key not in seen:
            known.append(labeling)
            seen.add(key)
            changed = True
    return changed


class _Writer:
    """Write batches of validated records; PostgreSQL COPY, else bulk_create."""

    def __init__(
        self,
        *,
        project: Project,
        job: ImportJob | None,
        taxonomy: _TaxonomyMap,
        result: ImportResult,
    ) -> None:
        self.project = project
        self.job_id = job.pk if job is not None else None
        self.taxonomy = taxonomy
        self.result = result
        self.is_postgresql = connection.vendor == "postgresql"
        self.annotator_ids: dict[tuple[str, str], int] = {}
        self.now = timezone.now()
        if self.is_postgresql:
            # Imports into one project run one at a time: each checks for existing traces
            # before adding its own, which two concurrent imports of one file would both pass.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_IMPORT_LOCK, project.pk])
        self.locks_foreign_keys = self.is_postgresql and self._skip_row_foreign_key_checks()

    def _skip_row_foreign_key_checks(self) -> bool:
        """On PostgreSQL, check foreign keys once per parent row instead of once per new row.

        PostgreSQL checks a foreign key with a trigger per inserted row, which costs more than
        the COPY itself. Every reference this import writes is correct by construction (new
        steps point at traces it just made, labels are joined to their steps), so the per-row
        triggers are switched off for this transaction (session_replication_role, when the
        database role may set it and settings.IMPORT_PG_BULK_FK_LOCKS is on) and the parent
        rows (project, job, categories, annotators, existing traces) are locked FOR KEY SHARE
        instead, which is what the triggers would do to keep them from being deleted.
        """
        if not settings.IMPORT_PG_BULK_FK_LOCKS:
            return False
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
        except DatabaseError:
            return False
        self._lock("labeling_project", [self.project.pk])
        if self.job_id is not None:
            self._lock("labeling_importjob", [self.job_id])
        self._lock("labeling_category", [c.pk for c in self.taxonomy.by_key.values()])
        return True

    def _lock(self, table: str, ids: Iterable[int]) -> None:
        ids = list(ids)
        if not ids:
            return
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = ANY(%s) FOR KEY SHARE", [ids])

    def finish(self) -> None:
        """Switch per-row foreign-key checks back on for the rest of the transaction."""
        if self.locks_foreign_keys:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = origin")

    def annotator_id(self, source: str, name: str) -> int:
        key = (source, name)
        if key not in self.annotator_ids:
            if source == "native" and name.startswith("source-"):
                # A native file exported from this tool names source annotators as they are.
                user = source_annotator_get_or_create(source=name[len("source-") :])
            else:
                user = source_annotator_get_or_create(source=source, labeler=name)
            self.annotator_ids[key] = user.pk
            if self.locks_foreign_keys:
                self._lock("labeling_user", [user.pk])
        return self.annotator_ids[key]

    def write(self, batch: list[TraceRecord]) -> None:
        hashes = [r.content_hash() for r in batch]
        existing = dict(
            Trace.objects.filter(project=self.project, content_hash__in=set(hashes)).values_list(
                "content_hash", "id"
            )
        )
        new: dict[str, TraceRecord] = {}
        touched: dict[int, list[TraceRecord]] = {}
        for record, digest in zip(batch, hashes, strict=True):
            if digest in existing:
                self.result.duplicates_skipped += 1
                touched.setdefault(existing[digest], []).append(record)
            elif digest in new:
                self.result.duplicates_skipped += 1
                _merge_metadata(new[digest].metadata, record.metadata)
            else:
                new[digest] = record

        trace_ids = self._insert_traces(new)
        self._insert_steps(new, trace_ids)
        trace_ids.update(existing)
        labelled_existing = {
            existing[d] for r, d in zip(batch, hashes, strict=True) if d in existing and r.labels
        }
        if self.locks_foreign_keys:
            self._lock("labeling_trace", labelled_existing)
        # Labels are keyed by (trace, step index, annotator) until they are written.
        taken: set[tuple[int, int, int]] = set()
        if labelled_existing:
            taken.update(
                StepLabel.objects.filter(trace_id__in=labelled_existing).values_list(
                    "trace_id", "step__index", "annotator_id"
                )
            )
        rows: list[tuple] = []
        annotator_ids = self.annotator_ids
        categories: dict[tuple[str, int], Category] = {}
        for record, digest in zip(batch, hashes, strict=True):
            trace_id = trace_ids[digest]
            for label in record.labels:
                annotator_id = annotator_ids.get((record.source, label.annotator))
                if annotator_id is None:
                    annotator_id = self.annotator_id(record.source, label.annotator)
                key = (trace_id, label.step_index, annotator_id)
                if key in taken:
                    self.result.labels_skipped += 1
                    continue
                taken.add(key)
                category = categories.get((label.category, label.polarity))
                if category is None:
                    found = self.taxonomy.category(label)
                    assert isinstance(found, Category)  # checked when the record was read
                    category = categories[(label.category, label.polarity)] = found
                rows.append(
                    (
                        trace_id,
                        label.step_index,
                        annotator_id,
                        category.pk,
                        category.polarity,
                        label.is_unsure,
                    )
                )
        self._insert_labels(rows)
        self._merge_existing_metadata(touched)

    def _merge_existing_metadata(self, touched: dict[int, list[TraceRecord]]) -> None:
        wanted = {t: rs for t, rs in touched.items() if any("labelings" in r.metadata for r in rs)}
        if not wanted:
            return
        changed = []
        for trace in Trace.objects.filter(pk__in=wanted).only("id", "metadata"):
            if any([_merge_metadata(trace.metadata, r.metadata) for r in wanted[trace.pk]]):
                changed.append(trace)
        Trace.objects.bulk_update(changed, ["metadata"])

    # PostgreSQL: trace ids come from the sequence first, then rows go in with COPY.

    def _allocate_ids(self, model: type, count: int) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [model._meta.db_table, count],
            )
            return sorted(row[0] for row in cursor.fetchall())

    def _copy(self, model: type, columns: list[str], rows: Iterable[tuple]) -> None:
        self._copy_table(model._meta.db_table, columns, rows)

    def _copy_table(self, table: str, columns: list[str], rows: Iterable[tuple]) -> None:
        quote = connection.ops.quote_name
        sql = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)

    def _copy_lines(self, table: str, columns: list[str], lines: Iterable[str]) -> None:
        """COPY rows already in PostgreSQL's text format (see _copy_text); faster than write_row."""
        quote = connection.ops.quote_name
        sql = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            chunk: list[str] = []
            for line in lines:
                chunk.append(line)
                if len(chunk) >= 5000:
                    copy.write("".join(chunk))
                    chunk = []
            if chunk:
                copy.write("".join(chunk))

    def _insert_traces(self, new: dict[str, TraceRecord]) -> dict[str, int]:
        if not new:
            return {}
        self.result.traces_added += len(new)
        if self.is_postgresql:
            ids = self._allocate_ids(Trace, len(new))
            self._copy(
                Trace,
                [
                    "id",
                    "project_id",
                    "external_id",
                    "problem",
                    "final_answer",
                    "ground_truth_answer",
                    "is_outcome_correct",
                    "generator",
                    "metadata",
                    "source_format",
                    "content_hash",
                    "step_count",
                    "is_qc",
                    "import_job_id",
                    "created_at",
                ],
                (
                    (
                        pk,
                        self.project.pk,
                        r.external_id,
                        r.problem,
                        r.final_answer,
                        r.ground_truth_answer,
                        r.is_outcome_correct,
                        r.generator,
                        orjson.dumps(r.metadata).decode(),
                        r.source_format,
                        digest,
                        len(r.steps),
                        False,
                        self.job_id,
                        self.now,
                    )
                    for pk, (digest, r) in zip(ids, new.items(), strict=True)
                ),
            )
            return dict(zip(new, ids, strict=True))
        traces = Trace.objects.bulk_create(
            [
                Trace(
                    project=self.project,
                    external_id=r.external_id,
                    problem=r.problem,
                    final_answer=r.final_answer,
                    ground_truth_answer=r.ground_truth_answer,
                    is_outcome_correct=r.is_outcome_correct,
                    generator=r.generator,
                    metadata=r.metadata,
                    source_format=r.source_format,
                    content_hash=digest,
                    step_count=len(r.steps),
                    import_job_id=self.job_id,
                )
                for digest, r in new.items()
            ],
            batch_size=500,
        )
        return {digest: t.pk for digest, t in zip(new, traces, strict=True)}

    def _insert_steps(self, new: dict[str, TraceRecord], trace_ids: dict[str, int]) -> None:
        if not new:
            return
        items = ((trace_ids[d], i, text) for d, r in new.items() for i, text in enumerate(r.steps))
        self.result.steps_added += sum(len(r.steps) for r in new.values())
        if self.is_postgresql:
            self._copy_lines(
                Step._meta.db_table,
                ["trace_id", "index", "text"],
                (f"{t}\t{i}\t{_copy_text(text)}\n" for t, i, text in items),
            )
            return
        # Other databases: one prepared INSERT run over all rows, without model instances.
        with connection.cursor() as cursor:
            cursor.executemany(
                'INSERT INTO labeling_step (trace_id, "index", text) VALUES (%s, %s, %s)', items
            )

    def _insert_labels(self, rows: list[tuple]) -> None:
        """Insert (trace id, step index, annotator id, category id, polarity, is_unsure) rows."""
        if not rows:
            return
        self.result.labels_added += len(rows)
        if self.is_postgresql:
            # Steps went in without ids read back: the database joins labels to their steps.
            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS import_label_rows (trace_id bigint, "
                    "step_index integer, annotator_id bigint, category_id bigint, "
                    "polarity smallint, is_unsure boolean) ON COMMIT DROP"
                )
            self._copy_lines(
                "import_label_rows",
                ["trace_id", "step_index", "annotator_id", "category_id", "polarity", "is_unsure"],
                (f"{t}\t{i}\t{a}\t{c}\t{p}\t{'t' if u else 'f'}\n" for t, i, a, c, p, u in rows),
            )
            with connection.cursor() as cursor:
                # Statistics make the planner look steps up by index rather than scan the
                # whole step table; the trace filter bounds the work to this batch either way.
                cursor.execute("ANALYZE import_label_rows")
                cursor.execute(
                    "INSERT INTO labeling_steplabel (step_id, trace_id, annotator_id, category_id, "
                    "polarity, rationale, is_unsure, created_at, updated_at) "
                    "SELECT s.id, r.trace_id, r.annotator_id, r.category_id, r.polarity, '', "
                    "r.is_unsure, %s, %s FROM import_label_rows r JOIN labeling_step s "
                    "ON s.trace_id = r.trace_id AND s.index = r.step_index "
                    "WHERE s.trace_id = ANY(%s)",
                    [self.now, self.now, sorted({r[0] for r in rows})],
                )
                cursor.execute("TRUNCATE import_label_rows")
            return
        now = connection.ops.adapt_datetimefield_value(self.now)
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO labeling_steplabel (step_id, trace_id, annotator_id, category_id, "
                "polarity, rationale, is_unsure, created_at, updated_at) "
                "SELECT id, trace_id, %s, %s, %s, '', %s, %s, %s FROM labeling_step "
                'WHERE trace_id = %s AND "index" = %s',
                [(a, c, p, u, now, now, t, i) for t, i, a, c, p, u in rows],
            )


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
        total = line_count(job.file.path)
        job.processed_lines = job.total_lines = total
    finally:
        recorder.close()
    job.finished_at = timezone.now()
    job.save(
        update_fields=["state", "result", "errors", "processed_lines", "total_lines", "finished_at"]
    )
    return job
