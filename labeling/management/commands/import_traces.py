"""`manage.py import_traces PROJECT_SLUG FILE`: import a trace file, all or nothing."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from labeling.errors import ImportRejected
from labeling.importers.records import FORMATS
from labeling.models import Project
from labeling.services.imports import trace_import
from labeling.services.projects import project_create


class Command(BaseCommand):
    help = (
        "Import traces (native JSONL, PRM800K, ProcessBench, Math-Shepherd, TRL stepwise, or "
        "raw text) into a project. Labels in the file arrive as source-annotator labels."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("project_slug")
        parser.add_argument("file")
        parser.add_argument("--format", default="auto", choices=["auto", *FORMATS])
        parser.add_argument(
            "--splitter",
            default=None,
            help="text files only: line, blank-line, step-marker or regex:PATTERN (default line)",
        )
        parser.add_argument(
            "--create",
            action="store_true",
            help="create the project with the default taxonomy if it does not exist",
        )

    def handle(
        self,
        *args,
        project_slug: str,
        file: str,
        format: str,
        splitter: str | None,
        create: bool,
        **options,
    ) -> None:
        try:
            with transaction.atomic():
                project = Project.objects.filter(slug=project_slug).first()
                if project is None:
                    if not create:
                        raise CommandError(
                            f"No project {project_slug!r}; pass --create to make it."
                        )
                    project = project_create(name=project_slug, slug=project_slug)
                    self.stdout.write(f"Created project {project_slug} with the default taxonomy.")
                result = trace_import(project=project, path=file, format=format, splitter=splitter)
        except ImportRejected as exc:
            for error in exc.errors:
                self.stderr.write(
                    f"line {error['line']}, field {error['field']}: {error['message']}"
                )
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Imported {file} as {result.format}: {result.records} records read.\n"
            f"  traces added:       {result.traces_added}\n"
            f"  steps added:        {result.steps_added}\n"
            f"  labels added:       {result.labels_added}\n"
            f"  duplicates skipped: {result.duplicates_skipped}"
            + (
                f"\n  labels already there: {result.labels_skipped}"
                if result.labels_skipped
                else ""
            )
        )
        if result.traces_added == 0 and result.labels_added == 0:
            self.stdout.write(
                "Nothing new: every trace and label in the file was already imported."
            )
