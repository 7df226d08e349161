"""Bulk writes of imported traces, steps and source labels: COPY on PostgreSQL, else executemany."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from labeling.importers.records import SourceLabel, TraceRecord
from labeling.models import Category, ImportJob, Project, Step, StepLabel, Trace
from labeling.services.projects import source_annotator_get_or_create

_IMPORT_LOCK = 0x494D50  # advisory-lock namespace of trace imports ("IMP")


@dataclass
class ImportResult:
    """What one import added, and what it found already there."""

    format: str
    lines: int = 0
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


class TaxonomyMap:
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


def copy_text(value: str) -> str:
    """Escape a string for PostgreSQL's COPY text format."""
    return (
        value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    )


def merge_metadata(target: dict[str, Any], incoming: dict[str, Any]) -> bool:
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


class TraceWriter:
    """Write batches of validated records; PostgreSQL COPY, else bulk_create."""

    def __init__(
        self,
        *,
        project: Project,
        job: ImportJob | None,
        taxonomy: TaxonomyMap,
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
                merge_metadata(new[digest].metadata, record.metadata)
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
            if any([merge_metadata(trace.metadata, r.metadata) for r in wanted[trace.pk]]):
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
        """COPY rows already in PostgreSQL's text format (see copy_text); faster than write_row."""
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
                (f"{t}\t{i}\t{copy_text(text)}\n" for t, i, text in items),
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
