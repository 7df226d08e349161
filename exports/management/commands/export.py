"""`manage.py export PROJECT_SLUG --format … --out DIR`: the export job's writer, into a folder."""
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exports.options import AGGREGATES, FILE_FORMATS, FORMATS, NEUTRAL_POLICIES, SOURCE_POLICIES
from exports.services import ExportOptionsInvalid, export_write, options_validate
from labeling.models import Project


class Command(BaseCommand):
    help = "Export a project's labels as dataset files, manifest.json and README.md into --out."

    def add_arguments(self, parser):
        parser.add_argument("project_slug")
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument("--file-format", default="jsonl", choices=FILE_FORMATS)
        parser.add_argument(
            "--aggregate", default="majority",
            help=f"{'|'.join(a for a in AGGREGATES if a != 'annotator')}|annotator:USERNAME",
        )
        parser.add_argument("--neutral", choices=NEUTRAL_POLICIES, default=None,
                            help="default: negative for binary formats, keep for prm800k/native")
        parser.add_argument("--truncate-after-error", action="store_true")
        parser.add_argument("--min-annotators", type=int, default=1)
        parser.add_argument("--split", default="1,0,0", help="train,validation,test fractions")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--step-separator", default="\n")
        parser.add_argument("--taxonomy-version", type=int, default=None)
        parser.add_argument("--annotators", default="", help="comma-separated usernames")
        parser.add_argument("--source-annotators", choices=SOURCE_POLICIES, default="include")
        parser.add_argument("--labeled-from", default=None, help="YYYY-MM-DD")
        parser.add_argument("--labeled-to", default=None, help="YYYY-MM-DD")
        parser.add_argument("--generators", default="", help="comma-separated")
        parser.add_argument("--source-formats", default="", help="comma-separated")
        parser.add_argument("--only-fully-labeled", action="store_true")
        parser.add_argument("--out", required=True, type=Path)

    def handle(self, *args, **o):
        project = Project.objects.filter(slug=o["project_slug"]).first()
        if project is None:
            raise CommandError(f"No project with slug {o['project_slug']!r}.")
        out: Path = o["out"]
        if out.exists() and any(out.iterdir()):
            raise CommandError(f"--out {out} is not empty; give a new or empty folder.")
        data = {
            key: o[key]
            for key in (
                "format", "file_format", "aggregate", "neutral", "truncate_after_error",
                "min_annotators", "split", "seed", "step_separator", "taxonomy_version",
                "annotators", "source_annotators", "labeled_from", "labeled_to", "generators",
                "source_formats", "only_fully_labeled",
            )
        }
        try:
            options = options_validate(project=project, data=data)
        except ExportOptionsInvalid as exc:
            raise CommandError(f"{exc.details.get('field')}: {exc.message}") from None
        verbose = o["verbosity"] >= 1

        def progress(processed: int, total: int) -> None:
            if verbose and total:
                sys.stderr.write(f"\r{processed:,}/{total:,} traces")

        started = time.perf_counter()
        manifest = export_write(project=project, options=options, out_dir=out, progress=progress)
        if verbose:
            sys.stderr.write("\n")
            self.stdout.write(
                f"{manifest['totals']['records']:,} records, {manifest['totals']['steps']:,} steps "
                f"in {time.perf_counter() - started:.2f} s -> {out}"
            )
