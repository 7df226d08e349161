"""Reads for the agreement dashboard: per-annotator work, QC accuracy, progress and trends.

Every selector runs a fixed number of grouped queries whatever the project's size.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db.models import Count, ExpressionWrapper, F, IntegerField, Q, Sum
from django.db.models.functions import ExtractIsoYear, ExtractWeek, TruncDate
from django.utils import timezone

from labeling.agreement.trend import agreement_by_window
from labeling.models import Assignment, GoldLabel, Project, StepLabel, Trace, User
from labeling.selectors.agreement import (
    AgreementFilters,
    LabelsFingerprint,
    _filtered_labels,
    _int_columns,
    category_codes,
    labels_fingerprint,
)

PROGRESS_STATES = ("unassigned", "partly_labeled", "fully_labeled", "adjudicated")
DAILY_DAYS = 28
# The weekly trend is reused while younger than this even if labels changed since: on a busy
# project every new label changes the fingerprint, and past weeks barely move.
WEEKLY_REUSE_FOR = timedelta(minutes=5)


@dataclass(frozen=True)
class AnnotatorWork:
    """One annotator's work in a project (people only, not source annotators)."""

    annotator_id: int
    username: str
    labels_done: int
    traces_submitted: int
    median_seconds_per_trace: float | None
    qc_labels: int
    qc_correct: int

    @property
    def qc_accuracy(self) -> float | None:
        return self.qc_correct / self.qc_labels if self.qc_labels else None


def _human_labels(project: Project):
    return StepLabel.objects.filter(trace__project=project, annotator__is_source=False)


def label_counts_by_annotator_day(
    *, project: Project, fingerprint: LabelsFingerprint | None = None
) -> list[tuple[int, date, int]]:
    """Return (annotator id, day of creation, labels) of people's labels, by annotator and day.

    One grouped query over the project's labels, cached per project while the labels
    fingerprint is unchanged (pass the one just read, else two more queries read it): the
    per-annotator totals and the daily grid both come from these rows.
    """
    fingerprint = fingerprint or labels_fingerprint(project_id=project.pk)
    key = f"dashboard:label-days:{project.pk}"
    cached = cache.get(key)
    if cached is not None and cached["fingerprint"] == fingerprint.value:
        return cached["rows"]
    rows = list(
        _human_labels(project)
        .annotate(day=TruncDate("created_at"))
        .values("annotator_id", "day")
        .annotate(n=Count("id"))
        .values_list("annotator_id", "day", "n")
        .order_by()
    )
    cache.set(key, {"fingerprint": fingerprint.value, "rows": rows}, timeout=24 * 3600)
    return rows


def qc_accuracy_by_annotator(*, project: Project) -> dict[int, tuple[int, int]]:
    """Return annotator id -> (labels on QC steps with gold, those whose polarity is gold's).

    A QC trace's steps all carry gold labels; an annotator's label counts as correct when its
    polarity equals the gold polarity (the category may differ within one polarity).
    """
    # From the gold labels of QC traces (few) to the labels of their steps: the QC filter on
    # the gold label's trace, not the label's, lets PostgreSQL start from gold instead of
    # walking every label of the project (5 ms instead of 80 on 200,000 labels).
    gold_trace = "step__gold_label__trace__"
    rows = (
        StepLabel.objects.filter(
            **{f"{gold_trace}project": project, f"{gold_trace}is_qc": True},
            annotator__is_source=False,
        )
        .values("annotator_id")
        .annotate(
            n=Count("id"),
            correct=Count("id", filter=Q(polarity=F("step__gold_label__polarity"))),
        )
        .order_by()
    )
    return {r["annotator_id"]: (r["n"], r["correct"]) for r in rows}


def annotator_work_for_project(
    *, project: Project, fingerprint: LabelsFingerprint | None = None
) -> list[AnnotatorWork]:
    """Return every person who labeled in or was assigned traces of the project, by username.

    Four queries: labels per annotator (cached, see label_counts_by_annotator_day), submitted
    assignment times, QC accuracy, usernames. The median is over submitted assignments'
    seconds_spent (time per trace).
    """
    labels: dict[int, int] = defaultdict(int)
    for aid, _, n in label_counts_by_annotator_day(project=project, fingerprint=fingerprint):
        labels[aid] += n
    seconds = np.array(
        list(
            Assignment.objects.filter(
                trace__project=project, state=Assignment.State.SUBMITTED,
                annotator__is_source=False,
            ).values_list("annotator_id", "seconds_spent")
        ),
        dtype=np.float64,
    ).reshape(-1, 2)
    by_annotator: dict[int, list[float]] = defaultdict(list)
    if seconds.size:
        order = np.argsort(seconds[:, 0], kind="stable")
        ids, starts = np.unique(seconds[order, 0], return_index=True)
        for aid, chunk in zip(ids.tolist(), np.split(seconds[order, 1], starts[1:]), strict=True):
            by_annotator[int(aid)] = chunk
    qc = qc_accuracy_by_annotator(project=project)
    ids_all = set(labels) | set(by_annotator) | set(qc)
    names = dict(User.objects.filter(pk__in=ids_all).values_list("id", "username"))
    rows = [
        AnnotatorWork(
            annotator_id=aid,
            username=names.get(aid, str(aid)),
            labels_done=labels.get(aid, 0),
            traces_submitted=len(by_annotator.get(aid, [])),
            median_seconds_per_trace=(
                float(np.median(by_annotator[aid])) if len(by_annotator.get(aid, [])) else None
            ),
            qc_labels=qc.get(aid, (0, 0))[0],
            qc_correct=qc.get(aid, (0, 0))[1],
        )
        for aid in ids_all
    ]
    return sorted(rows, key=lambda r: r.username)


def progress_by_state_for_project(*, project: Project) -> dict[str, int]:
    """Return how many of the project's traces are in each state, plus the QC trace count.

    States (QC traces left out): adjudicated = every step has gold; fully labeled = as many
    submitted assignments as the project's overlap; partly labeled = some assignment (not
    skipped) or some human label; unassigned = none of these. Two queries: assignments per
    trace, gold labels per trace (joining both at once multiplies rows and needs DISTINCT
    counts, several times slower).
    """
    rows = (
        Trace.objects.filter(project=project)
        .annotate(
            submitted=Count("assignments",
                            filter=Q(assignments__state=Assignment.State.SUBMITTED)),
            active=Count("assignments", filter=~Q(assignments__state=Assignment.State.SKIPPED)),
        )
        .values_list("id", "step_count", "is_qc", "submitted", "active")
        .order_by()
    )
    gold = dict(
        GoldLabel.objects.filter(trace__project=project)
        .values("trace_id").annotate(n=Count("id")).values_list("trace_id", "n").order_by()
    )
    counts = dict.fromkeys(PROGRESS_STATES, 0)
    counts["qc"] = 0
    for trace_id, step_count, is_qc, n_submitted, n_active in rows:
        if is_qc:
            counts["qc"] += 1
        elif step_count and gold.get(trace_id, 0) >= step_count:
            counts["adjudicated"] += 1
        elif n_submitted >= project.overlap:
            counts["fully_labeled"] += 1
        elif n_active:
            counts["partly_labeled"] += 1
        else:
            counts["unassigned"] += 1
    return counts


@dataclass(frozen=True)
class DailyLabels:
    """Labels made per day per annotator over the last `days` days ending at `last_day`."""

    days: list[date]
    annotators: list[str]
    counts: list[list[int]]  # annotators x days


def labels_per_day_for_project(
    *, project: Project, days: int = DAILY_DAYS, fingerprint: LabelsFingerprint | None = None
) -> DailyLabels:
    """Return labels made per day (created_at, server time zone) per annotator.

    The window ends on the day of the latest label, so a quiet week still shows the work.
    From label_counts_by_annotator_day (cached), plus one query for the usernames.
    """
    rows = label_counts_by_annotator_day(project=project, fingerprint=fingerprint)
    if not rows:
        return DailyLabels(days=[], annotators=[], counts=[])
    last_day = max(day for _, day, _ in rows)
    first_day = last_day - timedelta(days=days - 1)
    rows = [row for row in rows if row[1] >= first_day]
    names = dict(
        User.objects.filter(pk__in={aid for aid, _, _ in rows}).values_list("id", "username")
    )
    day_list = [first_day + timedelta(days=i) for i in range(days)]
    grid = {name: [0] * days for name in names.values()}
    for aid, day, n in rows:
        grid[names[aid]][(day - first_day).days] += n
    ordered = sorted(grid)
    return DailyLabels(days=day_list, annotators=ordered, counts=[grid[n] for n in ordered])


def _week_monday(code: int) -> date:
    return date.fromisocalendar(code // 100, code % 100, 1)


def submissions_fingerprint(*, project_id: int) -> str:
    """Return a value that changes whenever an assignment of the project is submitted (or
    stops being submitted): the weekly trend's traces_submitted read them, not the labels.

    Count and sum of ids of submitted assignments, one aggregate query on the assignments
    joined to their traces (a few ms for 20,000 assignments); sums move whatever order
    concurrent submissions commit in.
    """
    row = Assignment.objects.filter(
        trace__project_id=project_id, state=Assignment.State.SUBMITTED
    ).aggregate(n=Count("id"), ids=Sum("id"))
    return f"s{row['n']}:{row['ids'] or 0}"


def weekly_trend_rows_for_project(
    *, project_id: int, filters: AgreementFilters | None = None
) -> list[dict[str, Any]]:
    """Return per ISO week: labels made, traces submitted and agreement of the week's steps.

    Agreement per week comes from labeling.agreement.trend (steps belong to the week of their
    latest label) over the labels the filters keep (default: people's labels); submissions
    count people's submitted assignments. QC traces are left out of both, as from agreement.
    Uncached, three queries plus categories: the
    agreement report task computes it for the dashboard, which only reads the stored rows.
    """
    filters = filters or AgreementFilters()
    week = ExpressionWrapper(
        ExtractIsoYear("updated_at") * 100 + ExtractWeek("updated_at"),
        output_field=IntegerField(),
    )
    rows = _int_columns(
        _filtered_labels(project_id=project_id, filters=filters).annotate(week=week),
        ("step_id", "annotator_id", "category_id", "week"),
    )
    keys, code_of_id, _ = category_codes(project_id=project_id)
    figures = agreement_by_window(
        item=rows[:, 0], coder=rows[:, 1],
        value=code_of_id[rows[:, 2]] if rows.size else rows[:, 2],
        window=rows[:, 3], categories=keys,
    )
    submitted_week = ExpressionWrapper(
        ExtractIsoYear("submitted_at") * 100 + ExtractWeek("submitted_at"),
        output_field=IntegerField(),
    )
    submissions = dict(
        Assignment.objects.filter(
            trace__project_id=project_id, trace__is_qc=False, state=Assignment.State.SUBMITTED,
            submitted_at__isnull=False, annotator__is_source=False,
        )
        .annotate(week=submitted_week)
        .values("week").annotate(n=Count("id")).values_list("week", "n").order_by()
    )
    by_week = {row["window"]: row for row in figures}
    out = []
    for code in sorted(set(by_week) | set(submissions)):
        row = by_week.get(code, {
            "labels_made": 0, "pairable_steps": 0, "percent_agreement": None,
            "fleiss_kappa": None, "krippendorff_alpha_nominal": None,
        })
        out.append({
            "week": f"{code // 100}-W{code % 100:02d}",
            "week_start": _week_monday(code).isoformat(),
            "labels_made": row["labels_made"],
            "traces_submitted": int(submissions.get(code, 0)),
            "pairable_steps": row["pairable_steps"],
            "percent_agreement": row["percent_agreement"],
            "fleiss_kappa": row["fleiss_kappa"],
            "krippendorff_alpha_nominal": row["krippendorff_alpha_nominal"],
        })
    return out


def weekly_trend_for_project(
    *, project: Project, fingerprint: LabelsFingerprint | None = None
) -> list[dict[str, Any]]:
    """Return weekly_trend_rows_for_project, cached per project (for the dashboard API).

    Reused while the labels and submissions fingerprints are unchanged or the entry is
    younger than WEEKLY_REUSE_FOR. Cold: up to six queries (fingerprints x3, label rows,
    categories, submissions per week; the labels fingerprint is not read when given).
    """
    key = f"dashboard:weekly:{project.pk}"
    cached = cache.get(key)
    now = timezone.now()
    # A young entry is reused as is, without even reading the fingerprint.
    if cached is not None and now - cached["at"] < WEEKLY_REUSE_FOR:
        return cached["rows"]
    fingerprint = fingerprint or labels_fingerprint(project_id=project.pk)
    value = f"{fingerprint.value}#{submissions_fingerprint(project_id=project.pk)}"
    if cached is not None and cached["fingerprint"] == value:
        return cached["rows"]
    out = weekly_trend_rows_for_project(project_id=project.pk)
    cache.set(key, {"fingerprint": value, "at": now, "rows": out}, timeout=24 * 3600)
    return out
