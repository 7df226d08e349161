"""Adjudication reads: traces ranked by disagreement, and one trace side by side.

Disagreement is measured on human labels only (source annotators are imported datasets),
after mapping labels made with older taxonomy versions onto the current one. A step is
*disputed* when its human labels are not all the same category, *open* when disputed and
without a gold label, and *unanimous* when two or more humans gave the same category.
"""
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

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


def _mapped_category_sql(mapping: dict[int, int]) -> tuple[str, list[int]]:
    """Return SQL reading sl.category_id through the mapping to the current version."""
    if not mapping:
        return "sl.category_id", []
    whens = " ".join("WHEN %s THEN %s" for _ in mapping)
    params = [value for pair in mapping.items() for value in pair]
    return f"CASE sl.category_id {whens} ELSE sl.category_id END", params


def _per_trace_sql(
    project: Project, trace_ids: list[int] | None = None
) -> tuple[str, list[Any]]:
    """Return the CTEs `per_step` and `per_trace`: one pass over the project's human labels.

    Source annotators are excluded by id (a handful of rows) rather than by joining users,
    and steps are grouped by id alone: both keep the one hash aggregate small and fast.
    """
    mapping = (
        category_mapping_to_version(version=project.taxonomy_version)
        if project.taxonomy_version_id else {}
    )
    category, params = _mapped_category_sql(mapping)
    source_ids = list(User.objects.filter(is_source=True).values_list("id", flat=True))
    not_source = (
        f"AND sl.annotator_id NOT IN ({', '.join(['%s'] * len(source_ids))})"
        if source_ids else ""
    )
    join, where, where_params = _project_filter(project, trace_ids)
    sql = f"""
        per_step AS (
            SELECT sl.step_id, MIN(sl.trace_id) AS trace_id, COUNT(*) AS n,
                   MIN({category}) AS lo, MAX({category}) AS hi
            FROM {StepLabel._meta.db_table} sl {join}
            WHERE {where} {not_source}
            GROUP BY sl.step_id
        ),
        per_trace AS (
            SELECT ps.trace_id,
                   SUM(CASE WHEN ps.lo <> ps.hi THEN 1 ELSE 0 END) AS disputed,
                   SUM(CASE WHEN ps.lo <> ps.hi AND g.id IS NULL THEN 1 ELSE 0 END) AS open,
                   SUM(CASE WHEN ps.lo = ps.hi AND ps.n >= 2 AND g.id IS NULL
                            THEN 1 ELSE 0 END) AS unanimous_open
            FROM per_step ps
            LEFT JOIN {GoldLabel._meta.db_table} g ON g.step_id = ps.step_id
            GROUP BY ps.trace_id
        )"""
    return sql, [*params, *params, *where_params, *source_ids]


def _project_filter(
    project: Project, trace_ids: list[int] | None
) -> tuple[str, str, list[Any]]:
    """Return (join, condition, params) restricting labels to the project (or `trace_ids`,
    which callers take from the project's own rows).

    Projects are usually imported in bulk, so their trace ids form one unbroken range; then
    a range test on the label's trace id replaces the join with traces, a fifth of the cost
    of the grouped pass. One query on two indexes tells whether the range is unbroken.
    """
    if trace_ids:
        return "", f"sl.trace_id IN ({', '.join(['%s'] * len(trace_ids))})", list(trace_ids)
    table = Trace._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.lo, p.hi, p.n, (SELECT COUNT(*) FROM {table} r"
            f" WHERE r.id BETWEEN p.lo AND p.hi)"
            f" FROM (SELECT MIN(id) AS lo, MAX(id) AS hi, COUNT(*) AS n"
            f" FROM {table} WHERE project_id = %s) p",
            [project.pk],
        )
        low, high, count, in_range = cursor.fetchone()
    if not count:
        return "", "1 = 0", []
    if count == in_range:
        return "", "sl.trace_id BETWEEN %s AND %s", [low, high]
    return f"JOIN {table} t ON t.id = sl.trace_id", "t.project_id = %s", [project.pk]


@contextmanager
def _roomy_cursor() -> Iterator[Any]:
    """Yield a cursor; on PostgreSQL with enough work_mem for the grouped pass to stay in
    memory (the 4 MB default spills ~100k step groups to disk and doubles the time)."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")
        yield cursor


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
    """Per-trace counts of the whole project, most disputed first, and what they reflect."""

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
    """Return (trace id, disputed, open, unanimous open) from one grouped pass."""
    ctes, params = _per_trace_sql(project, trace_ids)
    sql = f"WITH {ctes} SELECT trace_id, disputed, open, unanimous_open FROM per_trace"
    with _roomy_cursor() as cursor:
        cursor.execute(sql, params)
        return [(t, int(d), int(o), int(u)) for t, d, o, u in cursor.fetchall()]


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
            rows = _sorted(_count(project))
    else:
        rows = _sorted(_count(project))
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
    traces with any disputed step. The ranking comes from one grouped pass over the labels,
    cached and recounted only for the traces touched since; then two queries read the page's
    traces and their annotator counts, so the number of queries does not depend on the page
    size.
    """
    if status not in STATUSES:
        raise NotFound(f"Unknown status {status!r}; use one of {', '.join(STATUSES)}.",
                       field="status")
    page = max(1, page)
    ranking = _ranking_for_project(project)
    column = 2 if status == "open" else 1
    matching = [r for r in ranking.rows if r[column] > 0]
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
        open_trace_count=sum(1 for r in ranking.rows if r[2] > 0),
        disputed_trace_count=sum(1 for r in ranking.rows if r[1] > 0),
        open_step_count=sum(r[2] for r in ranking.rows),
        unanimous_open_step_count=sum(r[3] for r in ranking.rows),
    )


def open_trace_ids_for_project(*, project: Project) -> list[int]:
    """Return the ids of traces with open disputed steps, in the adjudication list's order."""
    return [r[0] for r in _ranking_for_project(project).rows if r[2] > 0]


def unanimous_steps_for_project(*, project: Project) -> list[tuple[int, int, int]]:
    """Return (step id, trace id, category id in the current version) of every step that two
    or more humans labelled with one category (after mapping) and that has no gold label."""
    ctes, params = _per_trace_sql(project)
    sql = f"""WITH {ctes}
        SELECT ps.step_id, ps.trace_id, ps.lo FROM per_step ps
        LEFT JOIN {GoldLabel._meta.db_table} g ON g.step_id = ps.step_id
        WHERE ps.lo = ps.hi AND ps.n >= 2 AND g.id IS NULL
        ORDER BY ps.step_id"""
    with _roomy_cursor() as cursor:
        cursor.execute(sql, params)
        return [(r[0], r[1], r[2]) for r in cursor.fetchall()]


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
