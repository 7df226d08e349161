"""Export endpoints: start, list, inspect, download and retry export jobs; preview counts."""
from pathlib import Path

from django.db import transaction
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from exports.models import ExportJob
from exports.options import (
    AGGREGATES,
    FILE_FORMATS,
    FORMATS,
    NEUTRAL_POLICIES,
    SOURCE_POLICIES,
)
from exports.selectors import annotator_for_export, export_job_list_for_project, export_preview_count
from exports.services import export_job_create, export_job_retry, options_validate
from exports.tasks import export_job_run_task
from labeling.api.permissions import IsLeadOrResearcher, ProjectScopedMixin
from labeling.errors import Conflict, NotFound

LIST_LIMIT = 50


class ExportOptionsInputSerializer(serializers.Serializer):
    """Export options as sent by the page or a script; cross-field rules live in options_validate."""

    format = serializers.ChoiceField(choices=FORMATS)
    file_format = serializers.ChoiceField(choices=FILE_FORMATS, default="jsonl")
    aggregate = serializers.CharField(default="majority", max_length=200,
                                      help_text=f"{'|'.join(AGGREGATES[:-1])}|annotator:USERNAME")
    neutral = serializers.ChoiceField(choices=NEUTRAL_POLICIES, required=False, allow_null=True)
    truncate_after_error = serializers.BooleanField(default=False)
    min_annotators = serializers.IntegerField(default=1, min_value=1, max_value=100)
    split = serializers.CharField(default="1,0,0", max_length=100)
    seed = serializers.IntegerField(default=0, min_value=0, max_value=2**31 - 1)
    step_separator = serializers.CharField(default="\n", trim_whitespace=False, max_length=20)
    taxonomy_version = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    annotators = serializers.ListField(child=serializers.CharField(max_length=150), default=list)
    source_annotators = serializers.ChoiceField(choices=SOURCE_POLICIES, default="include")
    labeled_from = serializers.DateField(required=False, allow_null=True)
    labeled_to = serializers.DateField(required=False, allow_null=True)
    generators = serializers.ListField(child=serializers.CharField(max_length=200), default=list)
    source_formats = serializers.ListField(child=serializers.CharField(max_length=20), default=list)
    only_fully_labeled = serializers.BooleanField(default=False)


class ExportJobOutputSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None)
    progress = serializers.FloatField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id", "format", "file_format", "options", "state", "processed_count", "total_count",
            "progress", "record_count", "step_count", "error", "zip_bytes", "attempt_count",
            "created_by", "created_at", "started_at", "finished_at", "download_url",
        ]

    def get_download_url(self, job: ExportJob) -> str | None:
        if job.state != ExportJob.State.SUCCEEDED:
            return None
        return f"/api/projects/{self.context['slug']}/exports/{job.pk}/download/"


class ExportJobDetailOutputSerializer(ExportJobOutputSerializer):
    class Meta(ExportJobOutputSerializer.Meta):
        fields = [*ExportJobOutputSerializer.Meta.fields, "manifest"]


class PreviewCountOutputSerializer(serializers.Serializer):
    trace_count = serializers.IntegerField()
    step_count = serializers.IntegerField()
    label_count = serializers.IntegerField()


def _queue_run(job: ExportJob) -> None:
    transaction.on_commit(lambda: export_job_run_task.delay(job.pk))


class ExportJobListApi(ProjectScopedMixin, APIView):
    """GET: the project's latest exports. POST: start an export with the given options."""

    permission_classes = [IsLeadOrResearcher]

    @extend_schema(operation_id="export_job_list", responses=ExportJobOutputSerializer(many=True))
    def get(self, request, slug: str):
        jobs = export_job_list_for_project(project=self.get_project())[:LIST_LIMIT]
        return Response(ExportJobOutputSerializer(jobs, many=True, context={"slug": slug}).data)

    @extend_schema(
        operation_id="export_job_create",
        request=ExportOptionsInputSerializer,
        responses={201: ExportJobOutputSerializer},
    )
    def post(self, request, slug: str):
        serializer = ExportOptionsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = self.get_project()
        options = options_validate(project=project, data=serializer.validated_data)
        with transaction.atomic():
            job = export_job_create(project=project, created_by=request.user, options=options)
            _queue_run(job)
        job.refresh_from_db()
        data = ExportJobOutputSerializer(job, context={"slug": slug}).data
        return Response(data, status=status.HTTP_201_CREATED)


class _JobMixin(ProjectScopedMixin):
    def get_job(self) -> ExportJob:
        job = (
            ExportJob.objects.select_related("created_by")
            .filter(project=self.get_project(), pk=self.kwargs["job_id"])
            .first()
        )
        if job is None:
            raise NotFound(f"Export {self.kwargs['job_id']} is not in this project.")
        return job


class ExportJobDetailApi(_JobMixin, APIView):
    permission_classes = [IsLeadOrResearcher]

    @extend_schema(operation_id="export_job_detail", responses=ExportJobDetailOutputSerializer)
    def get(self, request, slug: str, job_id: int):
        return Response(ExportJobDetailOutputSerializer(self.get_job(), context={"slug": slug}).data)


class ExportJobDownloadApi(_JobMixin, APIView):
    permission_classes = [IsLeadOrResearcher]

    @extend_schema(operation_id="export_job_download", responses={(200, "application/zip"): OpenApiTypes.BINARY})
    def get(self, request, slug: str, job_id: int):
        job = self.get_job()
        if job.state != ExportJob.State.SUCCEEDED or not job.zip_path or not Path(job.zip_path).is_file():
            raise Conflict(f"Export {job.pk} has no file to download (state: {job.state}).")
        return FileResponse(
            open(job.zip_path, "rb"),  # noqa: SIM115  (FileResponse closes it)
            as_attachment=True,
            filename=f"{slug}-{job.format}-export-{job.pk}.zip",
            content_type="application/zip",
        )


class ExportJobRetryApi(_JobMixin, APIView):
    permission_classes = [IsLeadOrResearcher]

    @extend_schema(operation_id="export_job_retry", request=None, responses={202: ExportJobOutputSerializer})
    def post(self, request, slug: str, job_id: int):
        with transaction.atomic():
            job = export_job_retry(job=self.get_job())
            _queue_run(job)
        job.refresh_from_db()
        return Response(
            ExportJobOutputSerializer(job, context={"slug": slug}).data, status=status.HTTP_202_ACCEPTED
        )


class ExportPreviewCountApi(ProjectScopedMixin, APIView):
    """GET with the export options as query parameters: traces, steps and labels selected.

    The format goes in `export_format`: DRF reserves `?format=` for choosing a renderer.
    """

    permission_classes = [IsLeadOrResearcher]
    _lists = ("annotators", "generators", "source_formats")

    @extend_schema(
        operation_id="export_preview_count",
        parameters=[
            OpenApiParameter("export_format", str, enum=FORMATS),
            *[
                OpenApiParameter(name, str)
                for name in ExportOptionsInputSerializer().fields if name != "format"
            ],
        ],
        responses=PreviewCountOutputSerializer,
    )
    def get(self, request, slug: str):
        data = {
            k: v for k, v in request.query_params.items()
            if k not in (*self._lists, "format", "export_format")
        }
        for key in self._lists:
            values = [v for item in request.query_params.getlist(key) for v in item.split(",")]
            data[key] = [v.strip() for v in values if v.strip()]
        data["format"] = request.query_params.get("export_format") or "native"
        serializer = ExportOptionsInputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        project = self.get_project()
        options = options_validate(project=project, data=serializer.validated_data)
        annotator = (
            annotator_for_export(username=options.annotator) if options.aggregate == "annotator" else None
        )
        return Response(export_preview_count(project=project, options=options, annotator=annotator))
