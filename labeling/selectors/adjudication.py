"""Adjudication reads: traces ranked by disagreement, and one trace side by side.

Disagreement is measured on human labels only (source annotators are imported datasets),
after mapping labels made with older taxonomy versions onto the current one. A step is
*disputed* when its human labels are not all the same category, *open* when disputed and
without a gold label, and *unanimous* when two or more humans gave the same category.
QC traces are left out: their gold labels are the answer key, fixed before anyone labels.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from labeling.agreement.disputes import StepDisputes, dispute_counts_by_trace, step_disputes
from labeling.errors import NotFound
from labeling.models import (
    Category,
    GoldLabel,
    Project,
    Step,
    StepLabel,
    StepLabelChange,
    Trace,
    User,
)
from labeling.selectors.agreement import _int_columns
from labeling.selectors.taxonomy_versions import category_mapping_to_version

STATUSES = ("open", "disputed")


@dataclass(frozen=True)
class DisputedTraceRow:
    trace_id: int
    external_id: str
    problem: str
    generator: str
    step_count: int
    disputed_step_count: int
    open_step_count: int
    unanimous_open_step_count: int
    annotator_count: int


@dataclass(frozen=True)
class DisputedTracePage:
    rows: list[DisputedTraceRow]
    page: int
    per_page: int
    total: int
    open_trace_count: int
    disputed_trace_count: int
    open_step_count: int
    unanimous_open_step_count: int

    @property
    def page_count(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class _LabelScope:
    """Which labels to read, and the id bounds that let them be packed into one int8 each."""

    where: Q
    is_packed: bool = False
    first_trace: int = 0
    last_trace: int = 0
    last_step: int = 0
    last_category: int = 0


# Packed = (trace id - first trace) << (step bits + category bits) | step id << category bits
# | category id, kept below 2**62.
PACKED_BITS = 62


def _label_scope(project: Project, trace_ids: list[int] | None) -> _LabelScope | None:
    """Return the filter on `trace_id` restricting step or gold labels to the project (or to
    `trace_ids`, which callers take from the project's own rows); None when it has no traces.

    Projects are usually imported in bulk, so their trace ids form one unbroken range; then
    a range test on the label's trace id replaces the join with traces, a fifth of the cost
    of reading the labels. One query on primary-key and project indexes tells whether the
    range is unbroken and how wide the ids are.
    """
    if trace_ids:
        return _LabelScope(where=Q(trace_id__in=trace_ids))
    table = Trace._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.lo, p.hi, p.n, (SELECT COUNT(*) FROM {table} r"
            f" WHERE r.id BETWEEN p.lo AND p.hi),"
            f" (SELECT MAX(id) FROM {Step._meta.db_table}),"
            f" (SELECT MAX(id) FROM {Category._meta.db_table})"
            f" FROM (SELECT MIN(id) AS lo, MAX(id) AS hi, COUNT(*) AS n"
            f" FROM {table} WHERE project_id = %s) p",
            [project.pk],
        )
        low, high, count, in_range, max_step, max_category = cursor.fetchone()
    if not count:
        return None
    where = (
        Q(trace_id__gte=low, trace_id__lte=high) if count == in_range
        else Q(trace__project_id=project.pk)
    )
    max_step, max_category = int(max_step or 0), int(max_category or 0)
    bits = (high - low).bit_length() + max_step.bit_length() + max_category.bit_length()
    return _LabelScope(
        where, is_packed=bits <= PACKED_BITS, first_trace=low, last_trace=high,
        last_step=max_step, last_category=max_category,
    )


def _label_columns(
    labels: QuerySet[StepLabel], scope: _LabelScope, *, complete: bool = False
) -> np.ndarray:
    """Return (step id, trace id, category id) of the labels as an n x 3 int64 array.

    When the ids fit, PostgreSQL sends one packed int8 per label instead of three: building
    three arrays costs it more than twice the time of one (70 vs 30 ms for 200,000 labels).
    Labels on traces, steps or categories newer than the bounds are left out, so no id
    overflows its bits; they are newer than the ranking's label id too, so the next refresh
    counts them. Callers with no next refresh pass `complete`: such labels are then flagged
    (-1) in the same statement, and any flag means reading the labels again unpacked.
    """
    unpacked = ("step_id", "trace_id", "category_id")
    if not scope.is_packed:
        return _int_columns(labels, unpacked)
    step_bits, category_bits = scope.last_step.bit_length(), scope.last_category.bit_length()
    in_bounds = Q(
        trace_id__lte=scope.last_trace, step_id__lte=scope.last_step,
        category_id__lte=scope.last_category,
    )
    packed_expression = ExpressionWrapper(
        (F("trace_id") - Value(scope.first_trace)) * Value(1 << (category_bits + step_bits))
        + F("step_id") * Value(1 << category_bits) + F("category_id"),
        output_field=BigIntegerField(),
    )
    if complete:
        flagged = Case(When(in_bounds, then=packed_expression), default=Value(-1),
                       output_field=BigIntegerField())
        packed = _int_columns(labels.annotate(packed=flagged), ("packed",))[:, 0]
        if (packed < 0).any():
            return _int_columns(labels, unpacked)
    else:
        packed = _int_columns(
            labels.filter(in_bounds).annotate(packed=packed_expression), ("packed",)
        )[:, 0]
    return np.stack([
        (packed >> category_bits) & ((1 << step_bits) - 1),
        (packed >> (category_bits + step_bits)) + scope.first_trace,
        packed & ((1 << category_bits) - 1),
    ], axis=1)


def _mapped(category: np.ndarray, mapping: dict[int, int]) -> np.ndarray:
    """Return category ids read through the mapping to the current taxonomy version."""
    if not mapping or category.size == 0:
        return category
    lookup = np.arange(max(int(category.max()), *mapping) + 1, dtype=np.int64)
    lookup[list(mapping)] = list(mapping.values())
    return lookup[category]


def _step_disputes(
    project: Project, trace_ids: list[int] | None = None, *, complete: bool = False
) -> StepDisputes:
    """Return the dispute state of every step of the project (or of `trace_ids`) with human
    labels: two integer-array reads (labels, gold steps) and a NumPy pass over them.
    `complete`: never leave out labels newer than the id bounds (see _label_columns).

    Source annotators are excluded by id (a handful of rows) rather than by joining users.
    """
    scope = _label_scope(project, trace_ids)
    if scope is None:
        return step_disputes(step=[], trace=[], category=[], gold_step=[])
    labels = StepLabel.objects.filter(scope.where)
    source_ids = list(User.objects.filter(is_source=True).values_list("id", flat=True))
    if source_ids:
        labels = labels.exclude(annotator_id__in=source_ids)
    rows = _label_columns(labels, scope, complete=complete)
    gold = _int_columns(GoldLabel.objects.filter(scope.where), ("step_id",))
    mapping = (
        category_mapping_to_version(version=project.taxonomy_version)
        if project.taxonomy_version_id else {}
    )
    return step_disputes(
        step=rows[:, 0], trace=rows[:, 1], category=_mapped(rows[:, 2], mapping),
        gold_step=gold[:, 0],
    )


def _qc_trace_ids(project: Project) -> set[int]:
    """Return the project's QC traces: their gold is the answer key, so they are never
    disputes to adjudicate (annotators disagreeing with it is what QC accuracy measures)."""
    qc = Trace.objects.filter(project=project, is_qc=True).order_by().values_list("id", flat=True)
    return set(qc)


# The ranking (per-trace dispute counts of the whole project) is cached per project and
# refreshed incrementally: traces touched by new labels, new label history rows (every update
# and delete made through the label service) or gold labels decided since are recounted,
# the rest is kept. Concurrent transactions can commit ids out of order, so the last
# ID_MARGIN ids and TIME_MARGIN of gold decisions and deletions are always rechecked. A new
# taxonomy version, too many touched traces or the TTL (writes that bypass the services:
# admin edits, cascading deletes) make a full recount.
RANKING_TTL_SECONDS = 1800
ID_MARGIN = 1000
TIME_MARGIN = timedelta(seconds=30)
FULL_RECOUNT_ABOVE = 2000


@dataclass(frozen=True)
class _Ranking:
    """Per-trace counts of the project's traces with a disputed or unanimous open step, most
    disputed first, and what they reflect."""

    rows: list[tuple[int, int, int, int]]  # (trace id, disputed, open, unanimous open)
    taxonomy_version_id: int | None
    label_id: int
    change_id: int
    gold_id: int
    gold_touched: int
    counted_at: datetime


def gold_touched_key(project_id: int) -> str:
    """Return the cache key bumped when gold labels of the project are set."""
    return f"adjudication:gold-touched:{project_id}"


def gold_deleted_key(project_id: int) -> str:
    """Return the cache key holding {trace id: time} of the project's recent gold deletions."""
    return f"adjudication:gold-deleted:{project_id}"


def _ranking_key(project: Project) -> str:
    return f"adjudication:ranking:{connection.settings_dict['NAME']}:{project.pk}"


def _max_ids() -> tuple[int, int, int]:
    """Return the highest label, label-history and gold ids (three primary-key lookups)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT MAX(id) FROM {StepLabel._meta.db_table}),"
            f" (SELECT MAX(id) FROM {StepLabelChange._meta.db_table}),"
            f" (SELECT MAX(id) FROM {GoldLabel._meta.db_table})"
        )
        label_id, change_id, gold_id = cursor.fetchone()
    return label_id or 0, change_id or 0, gold_id or 0


def _count(project: Project, trace_ids: list[int] | None = None) -> list[tuple[int, int, int, int]]:
    """Return (trace id, disputed, open, unanimous open) of traces with any, ranked."""
    return dispute_counts_by_trace(_step_disputes(project, trace_ids))


def _sorted(rows) -> list[tuple[int, int, int, int]]:
    return sorted(rows, key=lambda r: (-r[1], -r[2], r[0]))


def _touched_trace_ids(project: Project, base: _Ranking, ids: tuple[int, int, int],
                       gold_touched: int) -> set[int]:
    label_id, change_id, gold_id = ids
    touched: set[int] = set()
    if label_id != base.label_id:
        touched.update(StepLabel.objects.filter(
            pk__gt=base.label_id - ID_MARGIN, trace__project=project,
        ).values_list("trace_id", flat=True))
    if change_id != base.change_id:
        touched.update(StepLabelChange.objects.filter(
            pk__gt=base.change_id - ID_MARGIN, step__trace__project=project,
        ).values_list("step__trace_id", flat=True))
    if gold_id != base.gold_id or gold_touched != base.gold_touched:
        since = base.counted_at - TIME_MARGIN
        touched.update(GoldLabel.objects.filter(
            trace__project=project, decided_at__gte=since,
        ).values_list("trace_id", flat=True))
        deleted: dict[int, datetime] = cache.get(gold_deleted_key(project.pk), {})
        touched.update(t for t, at in deleted.items() if at >= since)
    return touched


def _ranking_for_project(project: Project) -> _Ranking:
    """Return the project's ranking: cached, refreshed for touched traces, or recounted."""
    counted_at = timezone.now()
    ids = _max_ids()
    gold_touched = cache.get(gold_touched_key(project.pk), 0)
    base: _Ranking | None = cache.get(_ranking_key(project))
    fresh = (ids, gold_touched)
    if base is not None and base.taxonomy_version_id == project.taxonomy_version_id:
        if ((base.label_id, base.change_id, base.gold_id), base.gold_touched) == fresh:
            return base
        touched = _touched_trace_ids(project, base, ids, gold_touched)
        if len(touched) <= FULL_RECOUNT_ABOVE:
            kept = [r for r in base.rows if r[0] not in touched]
            recounted = _count(project, sorted(touched)) if touched else []
            rows = _sorted([*kept, *recounted])
        else:
            rows = _count(project)
    else:
        rows = _count(project)
    ranking = _Ranking(
        rows=rows, taxonomy_version_id=project.taxonomy_version_id,
        label_id=ids[0], change_id=ids[1], gold_id=ids[2],
        gold_touched=gold_touched, counted_at=counted_at,
    )
    cache.set(_ranking_key(project), ranking, RANKING_TTL_SECONDS)
    return ranking


def disputed_traces_for_project(
    *, project: Project, page: int = 1, per_page: int = 50, status: str = "open"
) -> DisputedTracePage:
    """Return one page of traces ranked by disputed steps (most first), with project totals.

    `status` "open" lists traces with disputed steps still lacking gold, "disputed" all
    traces with any disputed step. The ranking comes from one pass over the labels, cached
    and recounted only for the traces touched since; then one query finds the QC traces to
    leave out and two read the page's traces and their annotator counts, so the number of
    queries does not depend on the page size.
    """
    if status not in STATUSES:
        raise NotFound(f"Unknown status {status!r}; use one of {', '.join(STATUSES)}.",
                       field="status")
    page = max(1, page)
    rows_all = _ranking_rows(project)
    column = 2 if status == "open" else 1
    matching = [r for r in rows_all if r[column] > 0]
    window = matching[(page - 1) * per_page: page * per_page]
    ids = [r[0] for r in window]
    traces = {
        t["id"]: t
        for t in Trace.objects.filter(pk__in=ids).values(
            "id", "external_id", "problem", "generator", "step_count"
        )
    } if ids else {}
    annotators = dict(
        StepLabel.objects.filter(trace_id__in=ids, annotator__is_source=False)
        .order_by()
        .values("trace_id")
        .annotate(n=Count("annotator_id", distinct=True))
        .values_list("trace_id", "n")
    ) if ids else {}
    rows = [
        DisputedTraceRow(
            trace_id=trace_id,
            external_id=traces[trace_id]["external_id"],
            problem=traces[trace_id]["problem"],
            generator=traces[trace_id]["generator"],
            step_count=traces[trace_id]["step_count"],
            disputed_step_count=disputed,
            open_step_count=open_,
            unanimous_open_step_count=unanimous,
            annotator_count=annotators.get(trace_id, 0),
        )
        for trace_id, disputed, open_, unanimous in window
        if trace_id in traces  # deleted since the ranking was cached
    ]
    return DisputedTracePage(
        rows=rows, page=page, per_page=per_page, total=len(matching),
        open_trace_count=len(matching) if status == "open" else sum(r[2] > 0 for r in rows_all),
        disputed_trace_count=(
            len(matching) if status == "disputed" else sum(r[1] > 0 for r in rows_all)
        ),
        open_step_count=sum(r[2] for r in rows_all),
        unanimous_open_step_count=sum(r[3] for r in rows_all),
    )


def _ranking_rows(project: Project) -> list[tuple[int, int, int, int]]:
    """Return the ranking's rows without QC traces (one query for their ids)."""
    rows = _ranking_for_project(project).rows
    qc = _qc_trace_ids(project)
    return [r for r in rows if r[0] not in qc] if qc else rows


def open_trace_ids_for_project(*, project: Project) -> list[int]:
    """Return the ids of traces with open disputed steps, in the adjudication list's order."""
    return [r[0] for r in _ranking_rows(project) if r[2] > 0]


def unanimous_steps_for_project(*, project: Project) -> list[tuple[int, int, int]]:
    """Return (step id, trace id, category id in the current version) of every step that two
    or more humans labelled with one category (after mapping) and that has no gold label.

    Complete: it feeds the bulk "unanimous to gold" action, which no refresh corrects, so a
    step whose third label is newer than the id bounds must not look unanimous.
    """
    disputes = _step_disputes(project, complete=True)
    keep = disputes.is_unanimous_open
    qc = _qc_trace_ids(project)
    if qc:
        keep &= ~np.isin(disputes.trace, list(qc))
    return list(zip(
        disputes.step[keep].tolist(), disputes.trace[keep].tolist(),
        disputes.category[keep].tolist(), strict=True,
    ))


@dataclass
class AnnotatorColumn:
    user_id: int
    username: str
    is_source: bool


@dataclass
class StepCell:
    category: Category | None
    mapped_category: Category | None
    rationale: str
    is_unsure: bool


@dataclass
class StepRow:
    step: Step
    cells: list[StepCell]
    gold: GoldLabel | None
    is_disputed: bool
    majority: Category | None
    human_label_count: int


@dataclass
class TraceAdjudication:
    trace: Trace
    annotators: list[AnnotatorColumn]
    rows: list[StepRow]
    categories: list[Category]
    previous_trace_id: int | None = None
    next_trace_id: int | None = None


def trace_adjudication_for_lead(
    *, project: Project, trace_id: int, with_neighbours: bool = True
) -> TraceAdjudication:
    """Return one trace's steps with every annotator's label side by side and the gold labels.

    A fixed number of queries: trace, steps, labels, gold labels, current categories, the
    mapping, and (with_neighbours) the ranked open traces for previous / next.
    """
    trace = Trace.objects.filter(project=project, pk=trace_id).first()
    if trace is None:
        raise NotFound(f"Trace {trace_id} is not in this project.", field="trace")
    steps = list(Step.objects.filter(trace=trace).order_by("index"))
    labels = list(
        StepLabel.objects.filter(trace=trace)
        .select_related("annotator", "category")
        .order_by("annotator__is_source", "annotator__username")
    )
    golds = {
        g.step_id: g
        for g in GoldLabel.objects.filter(trace=trace).select_related(
            "step", "category", "decided_by"
        )
    }
    version = project.taxonomy_version
    categories = (
        list(version.categories.select_related("parent").order_by("position", "id"))
        if version else []
    )
    by_id = {c.pk: c for c in categories}
    mapping = category_mapping_to_version(version=version) if version else {}

    columns: dict[int, AnnotatorColumn] = {}
    for label in labels:
        columns.setdefault(label.annotator_id, AnnotatorColumn(
            user_id=label.annotator_id, username=label.annotator.username,
            is_source=label.annotator.is_source,
        ))
    order = list(columns)
    grid: dict[int, dict[int, StepLabel]] = {}
    for label in labels:
        grid.setdefault(label.step_id, {})[label.annotator_id] = label

    rows: list[StepRow] = []
    for step in steps:
        cells: list[StepCell] = []
        human: list[int] = []
        for user_id in order:
            label = grid.get(step.pk, {}).get(user_id)
            if label is None:
                cells.append(StepCell(None, None, "", False))
                continue
            mapped_id = mapping.get(label.category_id, label.category_id)
            mapped = by_id.get(mapped_id)
            cells.append(StepCell(label.category, mapped, label.rationale, label.is_unsure))
            if not columns[user_id].is_source:
                human.append(mapped_id)
        counts: dict[int, int] = {}
        for category_id in human:
            counts[category_id] = counts.get(category_id, 0) + 1
        majority = None
        if counts:
            best, n = max(counts.items(), key=lambda kv: kv[1])
            if n * 2 > len(human):
                majority = by_id.get(best)
        rows.append(StepRow(
            step=step, cells=cells, gold=golds.get(step.pk),
            is_disputed=len(counts) > 1, majority=majority, human_label_count=len(human),
        ))

    result = TraceAdjudication(
        trace=trace, annotators=[columns[u] for u in order], rows=rows, categories=categories,
    )
    if with_neighbours:
        ranked = open_trace_ids_for_project(project=project)
        if trace.pk in ranked:
            at = ranked.index(trace.pk)
            result.previous_trace_id = ranked[at - 1] if at > 0 else None
            result.next_trace_id = ranked[at + 1] if at + 1 < len(ranked) else None
        else:
            result.next_trace_id = ranked[0] if ranked else None
    return result
