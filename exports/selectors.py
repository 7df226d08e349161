"""Reads for exports: filtered querysets, counts, and the ordered row streams of one snapshot."""
from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from operator import itemgetter

from django.db import connection, transaction
from django.db.models import QuerySet

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

CHUNK_SIZE = 20_000


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


@contextmanager
def export_snapshot() -> Iterator[None]:
    """Hold one consistent, read-only snapshot of the database for every read inside.

    On PostgreSQL this is a REPEATABLE READ transaction (its first statement must set the level,
    so an export already inside a transaction reads that transaction's view instead). SQLite
    transactions are serialisable, so a plain one is already a snapshot.
    """
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                # Sorting two million label rows in memory instead of on disk; server side only.
                cursor.execute("SET LOCAL work_mem = '256MB'")
        yield


class _ByTrace:
    """Walk a stream of rows ordered by trace id (first column), one trace at a time."""

    def __init__(self, rows: Iterable[tuple]) -> None:
        self._groups = itertools.groupby(rows, key=itemgetter(0))
        self._current = next(self._groups, None)

    def take(self, trace_id: int) -> list[tuple]:
        while self._current is not None and self._current[0] < trace_id:
            self._current = next(self._groups, None)
        if self._current is not None and self._current[0] == trace_id:
            rows = list(self._current[1])
            self._current = next(self._groups, None)
            return rows
        return []


def export_rows_stream(
    *,
    project: Project,
    options: ExportOptions,
    category_map: dict[int, tuple[str, int]],
    annotator: User | None = None,
    with_details: bool = False,
    with_gold: bool = False,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[TraceRow]:
    """Yield every filtered trace with its steps and labels, in trace id order.

    Call inside export_snapshot(). Traces, steps, labels (and gold labels, assignments) are
    separate server-side cursors ordered by trace id, merged here: values tuples only, no
    model instances, and memory holds one chunk of each stream.
    """
    traces = export_trace_queryset(project=project, options=options)
    trace_ids = traces.values("id")
    labels = export_label_queryset(
        options=options, traces=traces, category_ids=category_map, annotator=annotator
    )
    label_columns = ["trace_id", "step_id", "annotator_id", "category_id", "is_unsure"]
    if with_details:
        label_columns += ["rationale", "updated_at"]
    label_rows = _ByTrace(
        labels.order_by("trace_id", "step_id", "annotator_id")
        .values_list(*label_columns)
        .iterator(chunk_size=chunk_size)
    )
    step_rows = _ByTrace(
        Step.objects.filter(trace__in=trace_ids)
        .order_by("trace_id", "index")
        .values_list("trace_id", "id", "text")
        .iterator(chunk_size=chunk_size)
    )
    gold_rows = None
    if with_gold:
        gold_rows = _ByTrace(
            GoldLabel.objects.filter(trace__in=trace_ids, category_id__in=list(category_map))
            .order_by("trace_id", "step_id")
            .values_list("trace_id", "step_id", "category_id", "method")
            .iterator(chunk_size=chunk_size)
        )
    seconds_rows = users = None
    if with_details:
        seconds_rows = _ByTrace(
            Assignment.objects.filter(trace__in=trace_ids)
            .order_by("trace_id", "annotator_id")
            .values_list("trace_id", "annotator_id", "seconds_spent")
            .iterator(chunk_size=chunk_size)
        )
        users = {
            pk: (username, is_source)
            for pk, username, is_source in User.objects.filter(
                pk__in=labels.values("annotator_id")
            ).values_list("id", "username", "is_source")
        }
    trace_columns = [
        "id", "external_id", "problem", "final_answer", "ground_truth_answer",
        "is_outcome_correct", "generator", "source_format", "is_qc", "metadata",
    ]
    cmap_get = category_map.get
    for t in traces.order_by("id").values_list(*trace_columns).iterator(chunk_size=chunk_size):
        trace_id = t[0]
        steps = step_rows.take(trace_id)
        position = {row[1]: i for i, row in enumerate(steps)}
        per_step: list[list[tuple]] = [[] for _ in steps]
        seconds = None
        if seconds_rows is not None:
            seconds = {a: s for _, a, s in seconds_rows.take(trace_id)}
        for row in label_rows.take(trace_id):
            key, polarity = cmap_get(row[3])  # type: ignore[misc]
            if with_details:
                username, is_source = users[row[2]]  # type: ignore[index]
                per_step[position[row[1]]].append((
                    row[2], polarity, bool(row[4]), key, row[5], row[6], username,
                    bool(is_source), seconds.get(row[2]) if seconds else None,
                ))
            else:
                per_step[position[row[1]]].append((row[2], polarity, row[4]))
        gold = None
        if gold_rows is not None:
            gold = [None] * len(steps)
            for _, step_id, category_id, method in gold_rows.take(trace_id):
                key, polarity = category_map[category_id]
                gold[position[step_id]] = (polarity, key, method)
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
            metadata=t[9] if isinstance(t[9], dict) else {},
            steps=[row[2] for row in steps],
            labels=per_step,
            gold=gold,
        )

