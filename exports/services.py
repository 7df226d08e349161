"""Export writes: run an export into a folder, and create, run and retry export jobs."""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path

import orjson
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from exports import aggregation
from exports.aggregation import AgreementTally, labelled_prefix, step_labels_aggregate
from exports.card import card_text
from exports.formats import FORMATTERS, RLHFLOW_FIRST_TURN_JOINER, FormatContext
from exports.models import ExportJob
from exports.options import SPLIT_NAMES, ExportOptions, OptionsInvalid, options_from_dict
from exports.selectors import (
    annotator_for_export,
    category_map_for_version,
    export_rows_stream,
    export_snapshot,
    export_trace_queryset,
    taxonomy_definitions,
    taxonomy_version_for_export,
)
from exports.splits import split_assign
from exports.writers import RecordWriter, file_sha256, writer_open
from labeling.errors import Conflict, DomainError
from labeling.models import Project, User

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
PROGRESS_EVERY = 2000
TIE_RULE = "Ties go to the most negative of the tied labels."
TIE_RULES = {
    "majority": TIE_RULE,
    "soft": TIE_RULE + " (for `label`; `shares` keep the full distribution)",
    "unanimous": "A step whose annotators disagree is unlabelled.",
    "gold": "No ties: the gold label of each step; steps without one are unlabelled.",
    "annotator": "No ties: that annotator's label; steps they did not label are unlabelled.",
}
MANIFEST_VERSION = 1


class ExportOptionsInvalid(DomainError):
    code = "export_options_invalid"


def options_validate(*, project: Project, data: dict) -> ExportOptions:
    """Return validated options, checking names against the project; errors name the option."""
    try:
        options = options_from_dict(data)
        taxonomy_version_for_export(project=project, number=options.taxonomy_version)
        if options.aggregate == "annotator":
            annotator_for_export(username=options.annotator)
    except OptionsInvalid as exc:
        raise ExportOptionsInvalid(exc.message, field=exc.field) from None
    return options


def _emitted_labels(fmt: str, record: dict, labels: list[int | None], truncate: bool) -> list:
    """Return the step labels a record carries, for the manifest's figures."""
    if fmt in ("trl", "rlhflow", "math-shepherd"):
        return labels[: labelled_prefix(labels, truncate_after_error=truncate)]
    if fmt == "processbench":
        return labels[: len(record["steps"])]
    if fmt == "prm800k":
        return labels[: len(record["label"]["steps"])]
    return labels


def export_write(
    *,
    project: Project,
    options: ExportOptions,
    out_dir: Path,
    progress: ProgressCallback | None = None,
) -> dict:
    """Write the data files, manifest.json and README.md of one export into `out_dir`.

    Everything is read in one database snapshot and streamed: memory holds a chunk of rows and
    one batch of records per split. The same data and options give byte-identical files, the
    manifest and card included (they hold no clock time).
    """
    out_dir = Path(out_dir)
    (out_dir / "data").mkdir(parents=True, exist_ok=True)
    fmt = options.format
    formatter = FORMATTERS[fmt]
    ext = "parquet" if options.file_format == "parquet" else "jsonl"
    writers: dict[str, RecordWriter] = {}
    counts = {name: {"records": 0, "steps": 0} for name in SPLIT_NAMES}
    distribution = {"positive": 0, "neutral": 0, "negative": 0, "unlabelled": 0}
    skipped = {"no_usable_labels": 0, "not_fully_labelled": 0}
    tally = AgreementTally()
    separator_hits = 0
    processbench_all_correct = 0
    polarity_names = aggregation.POLARITY_NAMES
    method = options.aggregate
    soft = method == "soft"
    with_gold = method == "gold" or fmt == "native"
    try:
        with export_snapshot() as snapshot:
            version = taxonomy_version_for_export(project=project, number=options.taxonomy_version)
            category_map = category_map_for_version(version=version)
            definitions = taxonomy_definitions(version=version)
            annotator: User | None = None
            if options.aggregate == "annotator":
                annotator = annotator_for_export(username=options.annotator)
            ctx = FormatContext(
                truncate_after_error=options.truncate_after_error,
                aggregate=options.aggregate,
                annotator_labeler=annotator.username.removeprefix("source-prm800k-") if annotator else "",
                taxonomy_version=version.number,
                project_slug=project.slug,
            )
            total = export_trace_queryset(project=project, options=options).count()
            if progress:
                progress(0, total)
            processed = 0
            for row in export_rows_stream(
                project=project, options=options, category_map=category_map,
                annotator=annotator, with_details=fmt == "native", with_gold=with_gold,
                with_metadata=fmt in ("prm800k", "native", "math-shepherd"), snapshot=snapshot,
            ):
                processed += 1
                if progress and processed % PROGRESS_EVERY == 0:
                    progress(processed, total)
                labels = step_labels_aggregate(
                    row.polarities, method=method, neutral=options.neutral,
                    min_annotators=options.min_annotators,
                    gold=[g[0] if g else None for g in row.gold] if method == "gold" and row.gold else None,
                )
                if options.only_fully_labeled and not aggregation.is_fully_labelled(labels):
                    skipped["not_fully_labelled"] += 1
                    continue
                if soft:
                    shares = [
                        aggregation.shares(step) if len(step) >= options.min_annotators else None
                        for step in row.polarities
                    ]
                    record = formatter(row, labels, ctx, shares)
                else:
                    record = formatter(row, labels, ctx)
                if record is None:
                    skipped["no_usable_labels"] += 1
                    continue
                split = split_assign(row.problem, seed=options.seed, fractions=options.split)
                writer = writers.get(split)
                if writer is None:
                    writer = writers[split] = writer_open(
                        out_dir / "data" / f"{split}.{ext}", file_format=ext, format=fmt
                    )
                writer.write(record)
                emitted = _emitted_labels(fmt, record, labels, options.truncate_after_error)
                split_counts = counts[split]
                split_counts["records"] += 1
                split_counts["steps"] += len(emitted)
                for label in emitted:
                    distribution[polarity_names.get(label, "unlabelled")] += 1  # type: ignore[arg-type]
                tally.add_steps(row.polarities[: len(emitted)])
                if fmt == "trl":
                    separator_hits += sum(1 for s in record["completions"] if options.step_separator in s)
                elif fmt == "processbench" and record["label"] == -1:
                    processbench_all_correct += 1
            if progress:
                progress(processed, total)
    finally:
        for writer in writers.values():
            writer.close()

    files = []
    for split in SPLIT_NAMES:
        if split in writers:
            path = writers[split].path
            files.append({
                "split": split, "path": f"data/{path.name}", "records": writers[split].records,
                "bytes": path.stat().st_size, "sha256": file_sha256(path),
            })
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "format": fmt,
        "file_format": ext,
        "project": {"slug": project.slug, "name": project.name},
        "options": options.as_dict(),
        "aggregation": {
            "method": method if method != "annotator" else f"annotator:{options.annotator}",
            "tie_rule": TIE_RULES[method],
            "neutral": options.neutral,
            "order": "min annotators, then aggregate on -1/0/+1, then the neutral policy",
        },
        "taxonomy": {
            "version": version.number,
            "name": version.taxonomy.name,
            "categories": definitions,
            "mapped_categories": len(category_map),
        },
        "traces_read": processed,
        "counts": counts,
        "totals": {
            "records": sum(c["records"] for c in counts.values()),
            "steps": sum(c["steps"] for c in counts.values()),
        },
        "skipped_traces": skipped,
        "label_distribution": distribution,
        "agreement": tally.summary(),
        "files": files,
    }
    if fmt == "trl":
        manifest["step_separator"] = options.step_separator
        manifest["steps_containing_separator"] = separator_hits
    if fmt == "rlhflow":
        manifest["step_separator"] = RLHFLOW_FIRST_TURN_JOINER
        manifest["first_turn"] = "problem + '\\n\\n' + step 1"
    if fmt == "math-shepherd":
        manifest["step_tag"] = "ки"
        manifest["step_separator"] = "\n"
    if fmt == "processbench":
        manifest["processbench"] = {
            "all_correct": processbench_all_correct,
            "with_error": manifest["totals"]["records"] - processbench_all_correct,
        }
    card = card_text(manifest).encode()
    (out_dir / "README.md").write_bytes(card)
    manifest["card"] = {"path": "README.md", "sha256": hashlib.sha256(card).hexdigest()}
    (out_dir / "manifest.json").write_bytes(
        orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"
    )
    return manifest


def export_zip(*, source: Path, target: Path, root: str) -> int:
    """Zip a folder with fixed timestamps and sorted names (same files, same zip); return bytes."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{root}/{path.relative_to(source).as_posix()}", (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with open(path, "rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    return target.stat().st_size


@transaction.atomic
def export_job_create(*, project: Project, created_by: User | None, options: ExportOptions) -> ExportJob:
    """Record a pending export job; the caller queues export_job_run_task on commit."""
    return ExportJob.objects.create(
        project=project, created_by=created_by, format=options.format,
        file_format=options.file_format, options=options.as_dict(),
    )


def _progress_reporter(job: ExportJob) -> tuple[ProgressCallback, Callable[[], None]]:
    """Return a callback that saves progress where other sessions see it, and its closer.

    The export reads inside one long transaction, so progress goes through a second
    connection that commits each update. SQLite allows one writer per file: there the
    figures are saved when the job ends.
    """
    if connection.vendor != "postgresql":
        return (lambda processed, total: None), (lambda: None)
    wrapper = connections[DEFAULT_DB_ALIAS]
    side = type(wrapper)(dict(wrapper.settings_dict), alias=DEFAULT_DB_ALIAS)

    def report(processed: int, total: int) -> None:
        with side.cursor() as cursor:
            cursor.execute(
                "UPDATE exports_exportjob SET processed_count = %s, total_count = %s WHERE id = %s",
                [processed, total, job.pk],
            )

    return report, side.close


def _export_root() -> Path:
    return Path(settings.EXPORT_ROOT)


def export_job_run(*, job: ExportJob) -> ExportJob:
    """Run one export job to files and a zip, and record the outcome on the job.

    Safe to run again: files are written into a fresh temporary folder, which replaces the
    job's folder and zip only when complete. A failure is recorded with its reason.
    """
    ExportJob.objects.filter(pk=job.pk).update(
        state=ExportJob.State.RUNNING, started_at=timezone.now(), finished_at=None, error="",
        processed_count=0, total_count=0, attempt_count=job.attempt_count + 1,
    )
    job.refresh_from_db()
    root = _export_root() / f"project-{job.project_id}"
    root.mkdir(parents=True, exist_ok=True)
    tmp_dir = root / f".job-{job.pk}-{uuid.uuid4().hex}"
    tmp_zip = tmp_dir.with_suffix(".zip")
    final_dir = root / f"job-{job.pk}"
    final_zip = root / f"job-{job.pk}.zip"
    report, close = _progress_reporter(job)
    try:
        options = options_from_dict(job.options)
        manifest = export_write(project=job.project, options=options, out_dir=tmp_dir, progress=report)
        zip_bytes = export_zip(
            source=tmp_dir, target=tmp_zip, root=f"{job.project.slug}-{job.format}-export-{job.pk}"
        )
        if final_dir.exists():
            shutil.rmtree(final_dir)
        os.replace(tmp_dir, final_dir)
        os.replace(tmp_zip, final_zip)
    except Exception as exc:  # noqa: BLE001  (any failure is recorded on the job, then logged)
        logger.exception("export job %s failed", job.pk)
        shutil.rmtree(tmp_dir, ignore_errors=True)
        tmp_zip.unlink(missing_ok=True)
        message = exc.message if isinstance(exc, (OptionsInvalid, DomainError)) else str(exc)
        ExportJob.objects.filter(pk=job.pk).update(
            state=ExportJob.State.FAILED, finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {message}"[:2000],
        )
    else:
        ExportJob.objects.filter(pk=job.pk).update(
            state=ExportJob.State.SUCCEEDED, finished_at=timezone.now(), manifest=manifest,
            processed_count=manifest["traces_read"], total_count=manifest["traces_read"],
            record_count=manifest["totals"]["records"], step_count=manifest["totals"]["steps"],
            directory=str(final_dir), zip_path=str(final_zip), zip_bytes=zip_bytes,
        )
    finally:
        close()
    job.refresh_from_db()
    return job


@transaction.atomic
def export_job_retry(*, job: ExportJob) -> ExportJob:
    """Put a failed job back in the queue; the caller queues export_job_run_task on commit.

    A job still pending or running is refused, unless it has not moved for
    EXPORT_STALE_SECONDS (its worker died).
    """
    job = ExportJob.objects.select_for_update().get(pk=job.pk)
    stale_after = settings.EXPORT_STALE_SECONDS
    since = job.started_at or job.created_at
    is_stale = (timezone.now() - since).total_seconds() > stale_after
    if job.state in (ExportJob.State.PENDING, ExportJob.State.RUNNING) and not is_stale:
        raise Conflict(f"Export {job.pk} is {job.state}; retry it once it has failed.")
    if job.state == ExportJob.State.SUCCEEDED:
        raise Conflict(f"Export {job.pk} succeeded; start a new export instead.")
    job.state = ExportJob.State.PENDING
    job.error = ""
    job.processed_count = 0
    job.total_count = 0
    job.save(update_fields=["state", "error", "processed_count", "total_count"])
    return job
