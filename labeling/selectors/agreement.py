"""Reads for agreement: step labels of a project as NumPy arrays, and a cheap fingerprint."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.db import connection
from django.db.models import Count, Max, QuerySet, Subquery, Sum, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from labeling.agreement.data import LabelTable
from labeling.models import Category, GoldLabel, Project, Step, StepLabel, User
from labeling.pg import pg_fetch

METADATA_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]*$")


@dataclass(frozen=True)
class AgreementFilters:
    """Which labels count: taxonomy version number, updated_at range, annotators, trace metadata."""

    taxonomy_version: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    annotators: tuple[str, ...] = ()
    metadata: tuple[tuple[str, str], ...] = field(default=())
    include_sources: bool = False

    def __post_init__(self) -> None:
        for key, _ in self.metadata:
            # The key becomes a JSON path, never an ORM lookup: "a__contains" must not pass.
            if not METADATA_KEY.match(key) or "__" in key:
                raise ValueError(f"metadata key {key!r} must be letters, digits, '_', '-', '.'")


def _filtered_labels(*, project_id: int, filters: AgreementFilters) -> QuerySet[StepLabel]:
    # QC traces are left out: they go to every annotator whatever the overlap and are picked
    # for their answer key, so they would weigh agreement unevenly; QC accuracy scores them.
    qs = StepLabel.objects.filter(trace__project_id=project_id, trace__is_qc=False)
    if not filters.include_sources:
        qs = qs.filter(annotator__is_source=False)
    if filters.taxonomy_version is not None:
        qs = qs.filter(category__version__number=filters.taxonomy_version)
    if filters.since is not None:
        qs = qs.filter(updated_at__gte=filters.since)
    if filters.until is not None:
        qs = qs.filter(updated_at__lte=filters.until)
    if filters.annotators:
        qs = qs.filter(annotator__username__in=filters.annotators)
    for i, (key, value) in enumerate(filters.metadata):
        alias = f"_meta_{i}"
        # The key is a literal JSON key, never parsed as a lookup; the cast makes the comparison
        # plain text (a JSON-key exact lookup would parse the value as JSON on SQLite).
        text = Cast(KeyTextTransform(key, "trace__metadata"), output_field=TextField())
        qs = qs.alias(**{alias: text}).filter(**{alias: value})
    return qs


def _ints(rows: list[tuple], width: int) -> np.ndarray:
    if not rows:
        return np.empty((0, width), dtype=np.int64)
    return np.array(rows, dtype=np.int64)


def _parse_int8_array_send(data: bytes | None) -> np.ndarray:
    """Return the values of PostgreSQL's binary form of a one-dimensional int8[] (array_send).

    Layout: ndim, has-null flag, element type, then (size, lower bound) per dimension, then
    per element a 4-byte length and 8 bytes: fixed width, so NumPy reads it in one call.
    """
    if data is None:  # array_agg over no rows
        return np.empty(0, dtype=np.int64)
    header = np.frombuffer(data, dtype=">i4", count=3)
    ndim, has_null = int(header[0]), int(header[1])
    if ndim == 0:
        return np.empty(0, dtype=np.int64)
    if ndim != 1 or has_null:
        raise ValueError("expected a one-dimensional int8 array without NULLs")
    elements = np.frombuffer(data, dtype=np.dtype([("len", ">i4"), ("val", ">i8")]), offset=20)
    return elements["val"].astype(np.int64)


def _int_columns(qs: QuerySet, fields: tuple[str, ...]) -> np.ndarray:
    """Return integer columns of a queryset as an n x len(fields) int64 array, no instances.

    On PostgreSQL the rows are aggregated server-side into one binary int8[] per column
    (array_send(array_agg(...))) and fetched in binary: a million rows arrive as five byte
    strings that NumPy reads directly, where building a million tuples takes seconds.
    Elsewhere (SQLite): values_list.
    """
    values = qs.values_list(*fields)
    if connection.vendor != "postgresql":
        return _ints(list(values.iterator(chunk_size=20_000)), len(fields))
    sql, params = values.query.sql_with_params()
    columns = ", ".join(f'array_send(array_agg(q."{name}"::int8))' for name in fields)
    (row,) = pg_fetch(f"SELECT {columns} FROM ({sql}) AS q", params, binary=True)
    arrays = [_parse_int8_array_send(cell) for cell in row]
    return np.stack(arrays, axis=1) if arrays else np.empty((0, 0), dtype=np.int64)


def label_arrays_for_project(*, project_id: int, filters: AgreementFilters) -> LabelTable:
    """Return the project's step labels matching the filters as a LabelTable, QC traces aside.

    Five queries whatever the data size: labels and steps (integers only, no model
    instances), categories, annotator names, gold labels. The label query reads only
    (step, annotator, category): trace and step index come from the step query, polarity
    from the category (step labels copy it), so the largest query carries the fewest
    columns. Categories are identified by key: the same key in two taxonomy versions is
    one category.
    """
    rows = _int_columns(
        _filtered_labels(project_id=project_id, filters=filters),
        ("step_id", "annotator_id", "category_id"),
    )
    steps = _int_columns(
        Step.objects.filter(trace__project_id=project_id), ("id", "trace_id", "index")
    )
    steps = steps[np.argsort(steps[:, 0], kind="stable")]
    where = np.searchsorted(steps[:, 0], rows[:, 0]) if rows.size else rows[:, 0]
    keys, code_of_id, polarity_of_id = category_codes(project_id=project_id)
    annotator_ids = np.unique(rows[:, 1]).tolist()
    names = dict(User.objects.filter(id__in=annotator_ids).values_list("id", "username"))
    gold_qs = GoldLabel.objects.filter(trace__project_id=project_id, trace__is_qc=False)
    if filters.taxonomy_version is not None:
        gold_qs = gold_qs.filter(category__version__number=filters.taxonomy_version)
    gold = _int_columns(gold_qs, ("step_id", "category_id", "polarity"))
    return LabelTable.from_arrays(
        item=rows[:, 0],
        trace=steps[where, 1],
        step_index=steps[where, 2],
        coder=rows[:, 1],
        value=code_of_id[rows[:, 2]],
        polarity=polarity_of_id[rows[:, 2]],
        coder_names=names,
        categories=keys,
        gold_item=gold[:, 0],
        gold_value=code_of_id[gold[:, 1]],
        gold_polarity=gold[:, 2],
    )


@dataclass(frozen=True)
class LabelsFingerprint:
    label_count: int
    value: str


def labels_fingerprint(*, project_id: int) -> LabelsFingerprint:
    """Return a value that changes whenever a label or gold label of the project changes, or
    a labelled trace becomes or stops being a QC trace (agreement leaves those out).

    Step labels: count, sum of ids and sum of revisions (each update adds one). Sums move on
    every committed write whatever order concurrent transactions commit in, which a latest
    updated_at or id does not (both are drawn before the commit), and they cover imports,
    which write no label history. The project's qc_revision (bumped by trace_qc_set) rides
    along in the label query; without labels, QC flags change no figure. Gold labels: count and latest
    decision. Two aggregate queries.
    """
    labels = StepLabel.objects.filter(trace__project_id=project_id).aggregate(
        n=Count("id"), ids=Sum("id"), revisions=Sum("revision"),
        # A scalar subquery, evaluated once: cheaper than joining projects to every label.
        qc=Max(Subquery(Project.objects.filter(pk=project_id).order_by().values("qc_revision"))),
    )
    gold = GoldLabel.objects.filter(trace__project_id=project_id).aggregate(
        n=Count("id"), last=Max("decided_at")
    )
    gold_last = gold["last"].isoformat() if gold["last"] else "-"
    parts = (labels["n"], labels["ids"] or 0, labels["revisions"] or 0, gold["n"], gold_last,
             f"qc{labels['qc'] or 0}")
    return LabelsFingerprint(label_count=labels["n"], value="|".join(map(str, parts)))


def category_codes(*, project_id: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Return (category keys, code by category id, polarity by category id), one query.

    Categories are matched by key across taxonomy versions, the newest version's order first,
    so every agreement figure (report, dashboard trend) codes labels the same way.
    """
    categories = list(
        Category.objects.filter(version__taxonomy__project_id=project_id)
        .order_by("-version__number", "position", "id")
        .values_list("id", "key", "polarity")
    )
    keys: list[str] = []
    code_of_key: dict[str, int] = {}
    size = max((cid for cid, _, _ in categories), default=0) + 1
    code_of_id = np.zeros(size, dtype=np.int64)
    polarity_of_id = np.zeros(size, dtype=np.int64)
    for cid, key, polarity in categories:
        if key not in code_of_key:
            code_of_key[key] = len(keys)
            keys.append(key)
        code_of_id[cid] = code_of_key[key]
        polarity_of_id[cid] = polarity
    return keys, code_of_id, polarity_of_id
