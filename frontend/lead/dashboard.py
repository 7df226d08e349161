"""Agreement dashboard (leads and researchers): figures, charts and their numbers as CSV."""
from __future__ import annotations

import csv
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from frontend.lead import charts
from frontend.lead.access import lead_or_researcher_page
from frontend.lead.charts import Table, fmt
from labeling.models import AgreementReport, Project
from labeling.selectors.agreement import LabelsFingerprint, labels_fingerprint
from labeling.selectors.dashboard import (
    annotator_work_for_project,
    labels_per_day_for_project,
    progress_by_state_for_project,
)
from labeling.services.agreement import (
    RETRY_FAILED_AFTER,
    AgreementParams,
    agreement_report_get_or_schedule,
)
from labeling.tasks.agreement import agreement_report_compute_task

# The dashboard's report: trace bootstrap for the intervals, fixed seed so figures are stable.
DASHBOARD_RESAMPLES = 200
DASHBOARD_SEED = 0
# The weekly trend is computed with the report (by the Celery task on large projects).
DASHBOARD_PARAMS = AgreementParams(
    n_resamples=DASHBOARD_RESAMPLES, seed=DASHBOARD_SEED, weekly_trend=True
)

HEADLINE = [
    ("krippendorff_alpha_nominal", "Krippendorff's α", "nominal, on categories"),
    ("fleiss_kappa", "Fleiss' κ", "all annotators"),
    ("cohen_kappa_mean", "Cohen's κ", "mean over annotator pairs"),
    ("first_error_exact_match", "First-error agreement", "same first wrong step, per pair"),
]
SECONDARY = [
    ("percent_agreement", "Percent agreement"),
    ("krippendorff_alpha_ordinal", "α ordinal (polarity)"),
    ("first_error_has_error_kappa", "κ on 'trace has an error'"),
]
STATE_LABELS = {
    "unassigned": "Unassigned", "partly_labeled": "Partly labeled",
    "fully_labeled": "Fully labeled", "adjudicated": "Adjudicated", "qc": "QC traces",
}
_HEADLINE_NAMES = frozenset(name for name, _, _ in HEADLINE)


def _figure(result: dict[str, Any], name: str) -> dict[str, Any]:
    if name.startswith("first_error_"):
        return result["first_error"][name.removeprefix("first_error_")]
    return result[name]


def _headline(result: dict[str, Any]) -> tuple[list[dict], Table]:
    table = Table(["figure", "value", "ci_low", "ci_high", "reason"])
    cards = []
    for name, title, sub in [*HEADLINE, *[(n, t, "") for n, t in SECONDARY]]:
        f = _figure(result, name)
        table.rows.append([name, f["value"], f.get("ci_low"), f.get("ci_high"),
                           f.get("reason", "")])
        cards.append({
            "name": name, "title": title, "sub": sub, "value": f["value"], "text": fmt(f["value"]),
            "ci": (f"{fmt(f['ci_low'])} – {fmt(f['ci_high'])}"
                   if f.get("ci_low") is not None else ""),
            "reason": f.get("reason", "") or f.get("ci_reason", ""),
            "is_headline": name in _HEADLINE_NAMES,
        })
    return cards, table


def _annotators(result: dict[str, Any] | None, work: list) -> tuple[list[dict], Table]:
    by_name = {row["annotator"]: row for row in (result or {}).get("per_annotator", [])}
    table = Table(["annotator", "labels_done", "traces_submitted", "median_seconds_per_trace",
                   "agreement_with_consensus", "kappa_with_consensus", "agreement_with_gold",
                   "gold_steps", "qc_accuracy", "qc_labels"])
    rows = []
    peak = max((w.labels_done for w in work), default=0) or 1
    for w in work:
        report = by_name.get(w.username)
        consensus = report["consensus"]["agreement"]["value"] if report else None
        consensus_kappa = report["consensus"]["kappa"]["value"] if report else None
        gold = report["gold"]["agreement"]["value"] if report else None
        gold_n = report["gold"]["n_items"] if report else 0
        table.rows.append([w.username, w.labels_done, w.traces_submitted,
                           w.median_seconds_per_trace, consensus, consensus_kappa, gold, gold_n,
                           w.qc_accuracy, w.qc_labels])
        rows.append({
            "username": w.username, "labels_done": w.labels_done, "bar": 100 * w.labels_done / peak,
            "traces": w.traces_submitted,
            "median": (f"{w.median_seconds_per_trace:.0f} s"
                       if w.median_seconds_per_trace is not None else "—"),
            "consensus": fmt(consensus), "consensus_value": consensus,
            "consensus_kappa": fmt(consensus_kappa),
            "gold": fmt(gold), "gold_n": gold_n,
            "qc": f"{w.qc_accuracy:.0%}" if w.qc_accuracy is not None else "—",
            "qc_value": w.qc_accuracy, "qc_labels": w.qc_labels,
        })
    return rows, table


class _Inputs:
    """What the chart builders read, each loaded on first use: the page needs all of it, a
    chart's CSV only its own part (the progress CSV never touches the agreement report)."""

    def __init__(self, project: Project) -> None:
        self.project = project

    @cached_property
    def report(self) -> AgreementReport:
        return agreement_report_get_or_schedule(
            project=self.project, params=DASHBOARD_PARAMS,
            schedule=agreement_report_compute_task.delay,
        )

    @property
    def result(self) -> dict[str, Any] | None:
        # A report being recomputed keeps its previous result: show it, marked as stale,
        # rather than blanking the dashboard each time a label arrives on a large project.
        return self.report.result or None

    @cached_property
    def fingerprint(self) -> LabelsFingerprint:
        if "report" not in self.__dict__:
            return labels_fingerprint(project_id=self.project.pk)
        # The report carries the fingerprint it was checked against just now: the labels part
        # comes before the '#' (after it, the submissions the weekly trend depends on).
        value = self.report.labels_fingerprint.partition("#")[0]
        return LabelsFingerprint(label_count=int(value.split("|")[0] or 0), value=value)


# Each builder returns its part of the page's context and its chart's table; None for the
# table while the agreement report it reads is not computed yet.
Built = tuple[dict[str, Any], Table | None]


def _headline_chart(data: _Inputs) -> Built:
    if data.result is None:
        return {}, None
    cards, table = _headline(data.result)
    return {"cards": cards}, table


def _confusion_chart(data: _Inputs) -> Built:
    if data.result is None:
        return {}, None
    labels = data.result["confusion"]["labels"]
    matrix = data.result["confusion"]["pooled"]
    table = Table(["label", *labels],
                  [[lab, *row] for lab, row in zip(labels, matrix, strict=True)])
    return {"heatmap": charts.heatmap(labels, matrix) if labels else None}, table


def _categories_chart(data: _Inputs) -> Built:
    if data.result is None:
        return {}, None
    cat_rows = [{
        "category": c["category"], "n_labels": c["n_labels"], "kappa": c["kappa"]["value"],
        "low": c["kappa"].get("ci_low"), "high": c["kappa"].get("ci_high"),
        "reason": c["kappa"].get("reason", ""),
        "specific": c["specific_agreement"]["value"],
    } for c in data.result["per_category"]]
    table = Table(
        ["category", "labels", "kappa", "kappa_ci_low", "kappa_ci_high", "specific_agreement"],
        [[c["category"], c["n_labels"], c["kappa"], c["low"], c["high"], c["specific"]]
         for c in cat_rows],
    )
    return {"category_chart": charts.category_bars(cat_rows)}, table


def _annotators_chart(data: _Inputs) -> Built:
    # Work counts come from the selectors; agreement columns stay empty until the report is in.
    work = annotator_work_for_project(project=data.project, fingerprint=data.fingerprint)
    rows, table = _annotators(data.result, work)
    return {"annotator_rows": rows}, table


WEEKLY_COLUMNS = ["week", "week_start", "labels_made", "traces_submitted", "pairable_steps",
                  "percent_agreement", "fleiss_kappa", "krippendorff_alpha_nominal"]


def _weekly_chart(data: _Inputs) -> Built:
    if data.result is None:
        return {"weekly": [], "agreement_chart": None, "throughput_chart": None}, None
    # Stored with the report: stale with the rest of it while it is recomputed.
    weekly = data.result.get("weekly", [])
    weeks = [w["week"] for w in weekly]
    return {
        "weekly": weekly,
        "agreement_chart": charts.line_chart(weeks, [
            ("Krippendorff's α", [w["krippendorff_alpha_nominal"] for w in weekly]),
            ("Percent agreement", [w["percent_agreement"] for w in weekly]),
        ]) if weekly else None,
        "throughput_chart": charts.column_chart(
            weeks, [w["labels_made"] for w in weekly]
        ) if weekly else None,
    }, Table(WEEKLY_COLUMNS, [[w[c] for c in WEEKLY_COLUMNS] for w in weekly])


def _progress_chart(data: _Inputs) -> Built:
    progress = progress_by_state_for_project(project=data.project)
    return {
        "progress": progress,
        "progress_chart": charts.stacked_bar(
            [(k, STATE_LABELS[k], progress[k]) for k in STATE_LABELS if k != "qc"]
        ),
    }, Table(["state", "traces"], [[k, progress[k]] for k in STATE_LABELS])


def _daily_chart(data: _Inputs) -> Built:
    daily = labels_per_day_for_project(project=data.project, fingerprint=data.fingerprint)
    days = [d.isoformat() for d in daily.days]
    return {
        "daily_chart": charts.day_grid(days, daily.annotators, daily.counts) if days else None,
        "daily_total": sum(sum(row) for row in daily.counts),
    }, Table(["annotator", *days],
             [[a, *row] for a, row in zip(daily.annotators, daily.counts, strict=True)])


BUILDERS: dict[str, Callable[[_Inputs], Built]] = {
    "headline": _headline_chart,
    "confusion": _confusion_chart,
    "annotators": _annotators_chart,
    "categories": _categories_chart,
    "weekly": _weekly_chart,
    "progress": _progress_chart,
    "daily": _daily_chart,
}
CHARTS = tuple(BUILDERS)


def _dashboard(project: Project) -> dict[str, Any]:
    data = _Inputs(project)
    report, result = data.report, data.result
    ctx: dict[str, Any] = {
        "report": report, "result": result,
        "is_stale": result is not None and report.state != AgreementReport.State.SUCCEEDED,
    }
    tables: dict[str, Table] = {}
    for chart, build in BUILDERS.items():
        part, table = build(data)
        ctx.update(part)
        if table is not None:
            tables[chart] = table
    ctx["tables"] = tables
    return ctx


@lead_or_researcher_page
def dashboard(request: HttpRequest, project: Project) -> HttpResponse:
    """Show the project's agreement figures, per-annotator work, progress and trends."""
    started = time.perf_counter()
    ctx = _dashboard(project)
    state = ctx["report"].state
    is_failed = state == AgreementReport.State.FAILED
    pending = ctx["result"] is None and not is_failed
    poll_url = ""
    in_flight = state in (AgreementReport.State.PENDING, AgreementReport.State.RUNNING)
    if in_flight:
        poll_url = (reverse("labeling:agreement-report", kwargs={"slug": project.slug})
                    + f"?bootstrap={DASHBOARD_RESAMPLES}&seed={DASHBOARD_SEED}&weekly_trend=true")
    response = render(request, "frontend/lead/dashboard.html", {
        **ctx, "project": project, "lead_tab": "dashboard", "is_pending": pending,
        "is_failed": is_failed, "retry_minutes": int(RETRY_FAILED_AFTER.total_seconds() // 60),
        "poll_url": poll_url,
        "csv_url": reverse("lead:dashboard-csv", kwargs={"slug": project.slug}),
    })
    response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


def _cell(value: Any) -> Any:
    """Return a CSV cell; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


@lead_or_researcher_page
def dashboard_csv(request: HttpRequest, project: Project) -> HttpResponse:
    """Return one chart's numbers as CSV: ?chart=headline|confusion|annotators|... ."""
    chart = request.GET.get("chart", "")
    if chart not in CHARTS:
        raise Http404(f"Unknown chart {chart!r}; one of: {', '.join(CHARTS)}.")
    _, table = BUILDERS[chart](_Inputs(project))
    if table is None:
        return HttpResponse(
            "The agreement report is still being computed; try again shortly.\n",
            status=409, content_type="text/plain; charset=utf-8",
        )
    writer = csv.writer(_Echo())
    body = writer.writerow(table.columns) + "".join(
        writer.writerow([_cell(v) for v in row]) for row in table.rows
    )
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{project.slug}-{chart}.csv"'
    return response
