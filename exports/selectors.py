"""Reads for exports: filtered querysets, counts, and the ordered row streams of one snapshot."""
from __future__ import annotations

import datetime as dt
import itertools
import queue
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter

import orjson
import psycopg
import psycopg.sql
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import F, IntegerField, QuerySet
from django.db.models.functions import Cast
from psycopg.types.json import set_json_loads

from exports.models import ExportJob
from exports.options import ExportOptions, OptionsInvalid
from exports.rows import TraceRow
from labeling.models import (
    Assignment,
    Category,
    CategoryMapping,
    GoldLabel,
    Project,
    Step,
    StepLabel,
    TaxonomyVersion,
    Trace,
    User,
)

# Traces per fetch of each stream: a few MB of rows, a few hundred round trips per million steps.
CHUNK_SIZE = 2_000


def export_job_list_for_project(*, project: Project) -> QuerySet[ExportJob]:
    """Return the project's export jobs, newest first, with their creators."""
    return ExportJob.objects.filter(project=project).select_related("created_by")


def taxonomy_version_for_export(*, project: Project, number: int | None) -> TaxonomyVersion:
    """Return the taxonomy version labels are exported in: `number`, or the project's current one."""
    if number is None:
        if project.taxonomy_version_id is None:
            raise OptionsInvalid("taxonomy_version", "the project has no published taxonomy.")
        return TaxonomyVersion.objects.select_related("taxonomy").get(pk=project.taxonomy_version_id)
    version = (
        TaxonomyVersion.objects.select_related("taxonomy")
        .filter(taxonomy__project=project, number=number)
        .order_by("taxonomy_id")
        .first()
    )
    if version is None:
        raise OptionsInvalid("taxonomy_version", f"the project has no taxonomy version {number}.")
    return version


def category_map_for_version(*, version: TaxonomyVersion) -> dict[int, tuple[str, int]]:
    """Return category id -> (key, polarity) in `version`, for its own categories and for those of
    other versions that map onto it through CategoryMapping (following chains of versions).

    Labels whose category is not in the map are not exported in this version.
    """
    result: dict[int, tuple[str, int]] = {
        c.pk: (c.key, c.polarity) for c in Category.objects.filter(version=version)
    }
    mappings = list(
        CategoryMapping.objects.filter(to_version__taxonomy=version.taxonomy_id).values_list(
            "from_category_id", "to_category_id"
        )
    )
    changed = True
    while changed:
        changed = False
        for source, target in mappings:
            if source not in result and target in result:
                result[source] = result[target]
                changed = True
    return result


def _stored_polarity_is_exported(category_map: dict[int, tuple[str, int]]) -> bool:
    """Return whether every category keeps its own polarity in the export (no remapping)."""
    own = dict(Category.objects.filter(pk__in=list(category_map)).values_list("id", "polarity"))
    return all(own.get(pk) == polarity for pk, (_, polarity) in category_map.items())


def taxonomy_definitions(*, version: TaxonomyVersion) -> list[dict]:
    """Return the version's categories as plain dicts, in display order."""
    return [
        {
            "key": c.key, "name": c.name, "description": c.description, "polarity": c.polarity,
            "parent": c.parent.key if c.parent_id else None,
            "is_rationale_required": c.is_rationale_required,
        }
        for c in Category.objects.filter(version=version).select_related("parent")
    ]


def annotator_for_export(*, username: str) -> User:
    """Return the user whose labels an `annotator:USERNAME` export reads."""
    user = User.objects.filter(username=username).first()
    if user is None:
        raise OptionsInvalid("aggregate", f"there is no annotator named {username!r}.")
    return user


def export_trace_queryset(*, project: Project, options: ExportOptions) -> QuerySet[Trace]:
    """Return the project's traces that pass the trace filters (generator, source format)."""
    traces = Trace.objects.filter(project=project)
    if options.generators:
        traces = traces.filter(generator__in=options.generators)
    if options.source_formats:
        traces = traces.filter(source_format__in=options.source_formats)
    return traces


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def export_label_queryset(
    *,
    options: ExportOptions,
    traces: QuerySet[Trace],
    category_ids: Iterable[int],
    annotator: User | None = None,
) -> QuerySet[StepLabel]:
    """Return the step labels that pass the label filters, on the given traces."""
    labels = StepLabel.objects.filter(trace__in=traces.values("id"), category_id__in=list(category_ids))
    if annotator is not None:
        labels = labels.filter(annotator=annotator)
    if options.annotators:
        labels = labels.filter(annotator__username__in=options.annotators)
    if options.source_annotators == "exclude":
        labels = labels.filter(annotator__is_source=False)
    elif options.source_annotators == "only":
        labels = labels.filter(annotator__is_source=True)
    if options.labeled_from:
        labels = labels.filter(updated_at__gte=_day_start(options.labeled_from))
    if options.labeled_to:
        labels = labels.filter(updated_at__lt=_day_start(options.labeled_to + dt.timedelta(days=1)))
    return labels


def export_preview_count(
    *, project: Project, options: ExportOptions, annotator: User | None = None
) -> dict[str, int]:
    """Return how many traces, steps and step labels the filters select (before aggregation:
    truncation, a neutral "drop" or "fully labelled only" can only lower the figures)."""
    version = taxonomy_version_for_export(project=project, number=options.taxonomy_version)
    cmap = category_map_for_version(version=version)
    traces = export_trace_queryset(project=project, options=options)
    if options.aggregate == "gold":
        labels = GoldLabel.objects.filter(trace__in=traces.values("id"), category_id__in=list(cmap))
    else:
        labels = export_label_queryset(
            options=options, traces=traces, category_ids=cmap, annotator=annotator
        )
    return {
        "trace_count": labels.values("trace_id").distinct().count(),
        "step_count": labels.values("step_id").distinct().count(),
        "label_count": labels.count(),
    }


@dataclass
class ExportSnapshot:
    """The snapshot an export reads; `snapshot_id` lets other sessions read the same one
    (PostgreSQL's pg_export_snapshot), None where that is not possible."""

    snapshot_id: str | None = None


@contextmanager
def export_snapshot() -> Iterator[ExportSnapshot]:
    """Hold one consistent, read-only snapshot of the database for every read inside.

    On PostgreSQL this is a REPEATABLE READ transaction (its first statement must set the level,
    so an export already inside a transaction reads that transaction's view instead), and its
    snapshot is exported so helper connections read exactly the same rows. SQLite transactions
    are serialisable, so a plain one is already a snapshot.
    """
    outermost = not connection.in_atomic_block
    snapshot = ExportSnapshot()
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                # Sorting two million label rows in memory instead of on disk; server side only.
                cursor.execute("SET LOCAL work_mem = '256MB'")
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot.snapshot_id = cursor.fetchone()[0]
        yield snapshot


class _SnapshotReader:
    """Read one query in a helper thread on its own connection, in the export's snapshot.

    The database builds the next chunk while Python formats the current one. The queue holds
    at most a few chunks, so memory stays bounded; an error in the thread is raised in the
    reader, and close() stops the thread when the export ends early.
    """

    def __init__(self, sql: str, params: list, snapshot_id: str, chunk_size: int) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=3)
        self._stop = threading.Event()
        conn_params = connections[DEFAULT_DB_ALIAS].get_connection_params()
        self._thread = threading.Thread(
            target=self._run, args=(sql, params, snapshot_id, chunk_size, conn_params),
            name="export-reader", daemon=True,
        )
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, sql: str, params: list, snapshot_id: str, chunk_size: int, conn_params: dict) -> None:
        try:
            with psycopg.connect(**conn_params) as conn:
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                conn.execute(
                    psycopg.sql.SQL("SET TRANSACTION SNAPSHOT {}").format(psycopg.sql.Literal(snapshot_id))
                )
                conn.execute("SET LOCAL work_mem = '256MB'")
                with conn.cursor(name="export_reader", binary=True) as cursor:
                    set_json_loads(orjson.loads, cursor)
                    cursor.execute(sql, params)
                    while not self._stop.is_set():
                        rows = cursor.fetchmany(chunk_size)
                        if not rows:
                            break
                        if not self._put(rows):
                            break
                conn.rollback()
            self._put(None)
        except BaseException as exc:  # noqa: BLE001  (handed to the reading thread)
            self._put(exc)

    def __iter__(self) -> Iterator[tuple]:
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield from item
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _server_rows(sql: str, params: list, chunk_size: int) -> Iterator[tuple]:
    """Yield rows of a raw query through a binary server-side cursor (PostgreSQL only)."""
    raw = connection.connection
    with raw.cursor(name=f"export_{uuid.uuid4().hex}", binary=True) as cursor:
        set_json_loads(orjson.loads, cursor)
        cursor.itersize = chunk_size
        cursor.execute(sql, params)
        while True:
            rows = cursor.fetchmany(chunk_size)
            if not rows:
                return
            yield from rows


def _grouped_pg(
    queryset: QuerySet, columns: list[str], chunk_size: int, snapshot_id: str | None = None
) -> Iterator[tuple]:
    """Yield (trace_id, [column values]...) per trace: one array_agg per column, no model rows.

    The aggregates carry no ORDER BY (one sort per aggregate per group is the slow part):
    the arrays of one group are built from the same rows in the same order, so they stay
    aligned, and callers order within a trace themselves.
    """
    sql, params = queryset.values_list("trace_id", *columns).order_by().query.sql_with_params()
    names = ", ".join(f"array_agg(c{i})" for i in range(len(columns)))
    inner = ", ".join(["trace_id", *(f"c{i}" for i in range(len(columns)))])
    grouped_sql = (
        f"SELECT trace_id, {names} FROM ({sql}) AS rows ({inner}) GROUP BY trace_id ORDER BY trace_id"
    )
    if snapshot_id is not None:
        return iter(_SnapshotReader(grouped_sql, list(params), snapshot_id, chunk_size))
    return _server_rows(grouped_sql, list(params), chunk_size)


def _grouped_generic(
    queryset: QuerySet, columns: list[str], chunk_size: int, snapshot_id: str | None = None
) -> Iterator[tuple]:
    """Yield the same shape as _grouped_pg by grouping ordered rows in Python (SQLite)."""
    rows = (
        queryset.order_by("trace_id").values_list("trace_id", *columns).iterator(chunk_size=chunk_size)
    )
    for trace_id, group in itertools.groupby(rows, key=itemgetter(0)):
        group_rows = list(group)
        yield (trace_id, *([row[i] for row in group_rows] for i in range(1, len(columns) + 1)))


class _ByTrace:
    """Walk a stream of per-trace rows ordered by trace id, one trace at a time."""

    def __init__(self, rows: Iterator[tuple]) -> None:
        self._rows = rows
        self._current = next(rows, None)

    def take(self, trace_id: int) -> tuple | None:
        current = self._current
        while current is not None and current[0] < trace_id:
            current = next(self._rows, None)
        if current is not None and current[0] == trace_id:
            self._current = next(self._rows, None)
            return current
        self._current = current
        return None


def export_rows_stream(
    *,
    project: Project,
    options: ExportOptions,
    category_map: dict[int, tuple[str, int]],
    annotator: User | None = None,
    with_details: bool = False,
    with_gold: bool = False,
    with_metadata: bool = True,
    snapshot: ExportSnapshot | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[TraceRow]:
    """Yield every filtered trace with its steps and labels, in trace id order.

    Call inside export_snapshot(). Traces, steps, labels (and gold labels, assignments) are
    separate streams ordered by trace id, one row per trace, merged here: values only, no
    model instances, and memory holds one chunk of each stream. On PostgreSQL each stream is a
    binary server-side cursor over an array_agg per column.
    """
    grouped = _grouped_pg if connection.vendor == "postgresql" else _grouped_generic
    traces = export_trace_queryset(project=project, options=options)
    trace_ids = traces.values("id")
    labels = export_label_queryset(
        options=options, traces=traces, category_ids=category_map, annotator=annotator
    )
    # A label's stored polarity is its own category's; only labels mapped from another
    # taxonomy version need the category looked up.
    own_polarity = _stored_polarity_is_exported(category_map)
    packed = own_polarity and not with_details
    if with_details:
        label_columns = ["step_id", "annotator_id", "category_id", "is_unsure", "rationale", "updated_at"]
    elif packed:
        # One integer per label: step id, polarity and unsure flag packed as
        # step_id * 8 + (polarity + 1) * 2 + is_unsure. One array to aggregate and decode
        # instead of three is most of the export's database time.
        labels = labels.annotate(
            packed=F("step_id") * 8 + (F("polarity") + 1) * 2 + Cast("is_unsure", IntegerField())
        )
        label_columns = ["packed"]
    else:
        label_columns = ["step_id", "category_id", "is_unsure"]
    # The two big streams are read by helper threads when the snapshot can be shared.
    shared = snapshot.snapshot_id if snapshot is not None else None
    label_rows = _ByTrace(grouped(labels, label_columns, chunk_size, shared))
    step_rows = _ByTrace(
        grouped(Step.objects.filter(trace__in=trace_ids), ["index", "id", "text"], chunk_size, shared)
    )
    gold_rows = None
    if with_gold:
        gold_rows = _ByTrace(grouped(
            GoldLabel.objects.filter(trace__in=trace_ids, category_id__in=list(category_map)),
            ["step_id", "category_id", "method"], chunk_size,
        ))
    seconds_rows = None
    users: dict[int, tuple[str, bool]] = {}
    if with_details:
        seconds_rows = _ByTrace(grouped(
            Assignment.objects.filter(trace__in=trace_ids), ["annotator_id", "seconds_spent"],
            chunk_size,
        ))
        users = {
            pk: (username, bool(is_source))
            for pk, username, is_source in User.objects.filter(
                pk__in=labels.values("annotator_id")
            ).values_list("id", "username", "is_source")
        }
    trace_columns = [
        "id", "external_id", "problem", "final_answer", "ground_truth_answer",
        "is_outcome_correct", "generator", "source_format", "is_qc", "metadata",
    ]
    if not with_metadata:
        trace_columns[-1] = "id"  # a placeholder: parsing JSON the format never reads is slow
    ordered = traces.order_by("id")
    if connection.vendor == "postgresql":
        sql, params = ordered.values_list(*trace_columns).query.sql_with_params()
        trace_rows: Iterator[tuple] = _server_rows(sql, list(params), chunk_size)
    else:
        trace_rows = ordered.values_list(*trace_columns).iterator(chunk_size=chunk_size)
    cmap_get = category_map.get
    empty: list = []
    for t in trace_rows:
        trace_id = t[0]
        step_row = step_rows.take(trace_id)
        if step_row is None:
            indexes, step_ids, texts = empty, empty, empty
        else:
            _, indexes, step_ids, texts = step_row
            if indexes != sorted(indexes):
                order = sorted(range(len(indexes)), key=indexes.__getitem__)
                step_ids = [step_ids[i] for i in order]
                texts = [texts[i] for i in order]
        n = len(step_ids)
        position = dict(zip(step_ids, range(n), strict=True))
        polarities: list[list[int]] = [[] for _ in range(n)]
        unsure = [False] * n
        details: list[list[tuple]] | None = None
        label_row = label_rows.take(trace_id)
        if label_row is not None:
            if with_details:
                details = [[] for _ in range(n)]
                seconds_row = seconds_rows.take(trace_id)  # type: ignore[union-attr]
                seconds = dict(zip(seconds_row[1], seconds_row[2], strict=True)) if seconds_row else {}
                _, l_steps, l_annotators, l_categories, l_unsure, l_rationales, l_times = label_row
                for step_id, annotator_id, category_id, is_unsure, rationale, at in sorted(
                    zip(l_steps, l_annotators, l_categories, l_unsure, l_rationales, l_times, strict=True),
                    key=itemgetter(0, 1),
                ):
                    key, polarity = category_map[category_id]
                    username, is_source = users[annotator_id]
                    details[position[step_id]].append((
                        annotator_id, polarity, bool(is_unsure), key, rationale, at, username,
                        is_source, seconds.get(annotator_id),
                    ))
                for i, step in enumerate(details):
                    polarities[i] = [lab[1] for lab in step]
                    unsure[i] = any(lab[2] for lab in step)
            elif packed:
                for value in label_row[1]:
                    i = position[value >> 3]
                    polarities[i].append(((value >> 1) & 3) - 1)
                    if value & 1:
                        unsure[i] = True
            else:
                _, l_steps, l_categories, l_unsure = label_row
                l_values = [cmap_get(c)[1] for c in l_categories]  # type: ignore[index]
                for step_id, polarity, is_unsure in zip(l_steps, l_values, l_unsure, strict=True):
                    i = position[step_id]
                    polarities[i].append(polarity)
                    if is_unsure:
                        unsure[i] = True
        gold = None
        if gold_rows is not None:
            gold = [None] * n
            gold_row = gold_rows.take(trace_id)
            if gold_row is not None:
                for step_id, category_id, method in zip(*gold_row[1:], strict=True):
                    key, polarity = category_map[category_id]
                    gold[position[step_id]] = (polarity, key, method)
        metadata = t[9]
        if isinstance(metadata, (str, bytes)):
            metadata = orjson.loads(metadata)
        yield TraceRow(
            id=trace_id,
            external_id=t[1],
            problem=t[2],
            final_answer=t[3],
            ground_truth_answer=t[4],
            is_outcome_correct=None if t[5] is None else bool(t[5]),
            generator=t[6],
            source_format=t[7],
            is_qc=bool(t[8]),
            metadata=metadata if isinstance(metadata, dict) else {},
            steps=list(texts),
            polarities=polarities,
            unsure=unsure,
            labels=details,
            gold=gold,
        )


def export_page_choices(*, project: Project) -> dict[str, list]:
    """Return the values the export form offers: taxonomy versions, members, generators, sources."""
    return {
        "taxonomy_versions": list(
            TaxonomyVersion.objects.filter(taxonomy__project=project, published_at__isnull=False)
            .order_by("number")
            .values_list("number", flat=True)
            .distinct()
        ),
        "member_usernames": list(
            User.objects.filter(memberships__project=project)
            .order_by("username")
            .values_list("username", flat=True)
        ),
        "generators": list(
            Trace.objects.filter(project=project).exclude(generator="")
            .order_by("generator").values_list("generator", flat=True).distinct()[:200]
        ),
        "source_formats": list(
            Trace.objects.filter(project=project).exclude(source_format="")
            .order_by("source_format").values_list("source_format", flat=True).distinct()[:50]
        ),
    }
