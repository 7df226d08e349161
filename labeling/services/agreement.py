"""Agreement reports: compute from the labels, store as AgreementReport, reuse while unchanged."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from labeling.agreement.report import agreement_report
from labeling.models import AgreementReport, Project
from labeling.selectors.agreement import (
    AgreementFilters,
    LabelsFingerprint,
    label_arrays_for_project,
    labels_fingerprint,
)
from labeling.selectors.dashboard import submissions_fingerprint, weekly_trend_rows_for_project

State = AgreementReport.State

# A report pending or running longer than this is assumed lost (worker stopped) and re-queued.
STALE_AFTER = timedelta(minutes=15)
# A failed report is shown as failed, not recomputed on every read (the dashboard's poll would
# re-queue a failing task forever), until the labels change or this long has passed.
RETRY_FAILED_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class AgreementParams:
    """Filters plus bootstrap options of one agreement report."""

    filters: AgreementFilters = field(default_factory=AgreementFilters)
    n_resamples: int = 0
    seed: int = 0
    confidence: float = 0.95
    # Also compute the weekly trend (the dashboard's report), so pages only read it.
    weekly_trend: bool = False

    def as_json(self) -> dict[str, Any]:
        """Return the normalised JSON form, the same for equal parameters."""
        f = self.filters
        # weekly_trend appears only when set, so the keys of other reports stay as they were.
        extra = {"weekly_trend": True} if self.weekly_trend else {}
        return {
            "bootstrap": self.n_resamples,
            "seed": self.seed,
            "confidence": self.confidence,
            "include_sources": f.include_sources,
            "annotators": sorted(f.annotators),
            "since": f.since.isoformat() if f.since else None,
            "until": f.until.isoformat() if f.until else None,
            "taxonomy_version": f.taxonomy_version,
            "metadata": [list(kv) for kv in sorted(f.metadata)],
            **extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AgreementParams:
        def when(value: str | None) -> datetime | None:
            return parse_datetime(value) if value else None

        return cls(
            filters=AgreementFilters(
                taxonomy_version=data.get("taxonomy_version"),
                since=when(data.get("since")),
                until=when(data.get("until")),
                annotators=tuple(data.get("annotators") or ()),
                metadata=tuple((k, v) for k, v in data.get("metadata") or ()),
                include_sources=bool(data.get("include_sources")),
            ),
            n_resamples=int(data.get("bootstrap") or 0),
            seed=int(data.get("seed") or 0),
            confidence=float(data.get("confidence") or 0.95),
            weekly_trend=bool(data.get("weekly_trend")),
        )

    def key(self) -> str:
        """Return the sha256 of the normalised parameters (AgreementReport.params_key)."""
        text = json.dumps(self.as_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def report_fingerprint(*, project_id: int, params: AgreementParams) -> LabelsFingerprint:
    """Return what a stored report with these parameters must match to be reused: the labels
    fingerprint, plus the submitted assignments when it carries the weekly trend (whose
    traces_submitted no label change moves), after a '#'."""
    labels = labels_fingerprint(project_id=project_id)
    if not params.weekly_trend:
        return labels
    submissions = submissions_fingerprint(project_id=project_id)
    return LabelsFingerprint(label_count=labels.label_count, value=f"{labels.value}#{submissions}")


def _compute_and_store(*, project: Project, params: AgreementParams) -> AgreementReport:
    # Fingerprint first: labels changing during the computation leave a stale fingerprint,
    # so the next request recomputes instead of trusting this result.
    fingerprint = report_fingerprint(project_id=project.pk, params=params)
    table = label_arrays_for_project(project_id=project.pk, filters=params.filters)
    result = agreement_report(
        table, n_resamples=params.n_resamples, seed=params.seed, confidence=params.confidence
    )
    if params.weekly_trend:
        result["weekly"] = weekly_trend_rows_for_project(
            project_id=project.pk, filters=params.filters
        )
    result["params"] = params.as_json()
    report, _ = AgreementReport.objects.update_or_create(
        project=project,
        params_key=params.key(),
        defaults={
            "params": params.as_json(),
            "labels_fingerprint": fingerprint.value,
            "state": State.SUCCEEDED,
            "result": result,
            "error": "",
            "finished_at": timezone.now(),
        },
    )
    return report


def agreement_report_compute(*, project: Project, params: AgreementParams) -> dict[str, Any]:
    """Compute the project's agreement figures now, store them and return the result."""
    return _compute_and_store(project=project, params=params).result


def agreement_report_refresh(*, report_id: int) -> AgreementReport:
    """Compute a scheduled report; on failure store the error and state failed, then re-raise."""
    report = AgreementReport.objects.select_related("project").get(pk=report_id)
    AgreementReport.objects.filter(pk=report.pk).update(state=State.RUNNING)
    params = AgreementParams.from_json(report.params)
    try:
        return _compute_and_store(project=report.project, params=params)
    except Exception as exc:
        AgreementReport.objects.filter(pk=report.pk).update(
            state=State.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now()
        )
        raise


def agreement_report_get_or_schedule(
    *,
    project: Project,
    params: AgreementParams,
    schedule: Callable[[int], object],
) -> AgreementReport:
    """Return the project's report for these parameters, computing or scheduling it if needed.

    A stored report is reused while its fingerprint (report_fingerprint) is unchanged:
    succeeded, still pending/running for less than STALE_AFTER, or failed less than
    RETRY_FAILED_AFTER ago (the caller shows the error). Otherwise, up to
    settings.AGREEMENT_ASYNC_LABEL_THRESHOLD labels it is computed inline; above, the report
    is marked pending and `schedule(report_id)` runs after the transaction commits (the
    caller passes the Celery task, so services never import it).
    """
    fingerprint = report_fingerprint(project_id=project.pk, params=params)
    key = params.key()
    report = AgreementReport.objects.filter(project=project, params_key=key).first()
    if report is not None and report.labels_fingerprint == fingerprint.value:
        if report.state == State.SUCCEEDED:
            return report
        now = timezone.now()
        in_flight = report.state in (State.PENDING, State.RUNNING)
        if in_flight and now - report.created_at < STALE_AFTER:
            return report
        failed_at = report.finished_at if report.state == State.FAILED else None
        if failed_at is not None and now - failed_at < RETRY_FAILED_AFTER:
            return report
    if fingerprint.label_count <= settings.AGREEMENT_ASYNC_LABEL_THRESHOLD:
        return _compute_and_store(project=project, params=params)
    with transaction.atomic():
        report, _ = AgreementReport.objects.update_or_create(
            project=project,
            params_key=key,
            defaults={
                "params": params.as_json(),
                "labels_fingerprint": fingerprint.value,
                "state": State.PENDING,
                "error": "",
                # created_at = when this computation was requested, for the staleness check.
                "created_at": timezone.now(),
                "finished_at": None,
            },
        )
        report_id = report.pk
        transaction.on_commit(lambda: schedule(report_id))
    return report
