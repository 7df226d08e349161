"""Import endpoints: a lead uploads a trace file; a Celery task imports it; clients poll the job."""

from django.conf import settings
from django.db import transaction
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.permissions import IsLead, ProjectScopedMixin
from labeling.importers.records import FORMATS
from labeling.importers.splitters import splitter_from_spec
from labeling.models import ImportJob
from labeling.services.imports import import_job_create
from labeling.tasks.imports import trace_import_task


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "file_too_large"


class ImportJobOutputSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "filename",
            "format",
            "splitter",
            "state",
            "processed_lines",
            "total_lines",
            "result",
            "errors",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]


class ImportJobPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ImportJobOutputSerializer(many=True)


class ImportListCreateApi(ProjectScopedMixin, APIView):
    permission_classes = [IsLead]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema_serializer(component_name="ImportCreateInput")
    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()
        format = serializers.ChoiceField(choices=["auto", *FORMATS], default="auto")
        splitter = serializers.CharField(required=False, allow_blank=True, default="")

        def validate_splitter(self, value: str) -> str:
            if value:
                try:
                    splitter_from_spec(value)
                except ValueError as exc:
                    raise serializers.ValidationError(str(exc)) from exc
            return value

        def validate(self, attrs: dict) -> dict:
            if attrs["splitter"] and attrs["format"] not in ("auto", "text"):
                raise serializers.ValidationError(
                    {"splitter": f"a splitter applies to text files only, not to {attrs['format']}"}
                )
            return attrs

    OutputSerializer = ImportJobOutputSerializer

    @extend_schema(
        operation_id="import_list",
        responses={200: ImportJobPageSerializer},
        summary="The project's import jobs, newest first (lead only).",
    )
    def get(self, request, slug: str):
        jobs = ImportJob.objects.filter(project=self.get_project()).select_related("created_by")
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(jobs, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="import_create",
        request={"multipart/form-data": InputSerializer},
        responses={
            202: OutputSerializer,
            400: OpenApiResponse(description="A missing file, unknown format or bad splitter."),
            413: OpenApiResponse(description="The file is over IMPORT_MAX_UPLOAD_BYTES."),
        },
        summary="Upload a trace file; the import runs in the background (lead only).",
        description=(
            "Formats: auto, " + ", ".join(FORMATS) + ". Splitter (text only): line, "
            "blank-line, step-marker or regex:PATTERN. Files over IMPORT_MAX_UPLOAD_BYTES get "
            "413. Poll the returned job for progress, the result, or the errors (each with "
            "line, field and message); a refused file imports nothing."
        ),
    )
    def post(self, request, slug: str):
        project = self.get_project()
        upload = request.FILES.get("file")
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if upload is not None and upload.size > limit:
            raise PayloadTooLarge(
                f"The file has {upload.size} bytes, over the upload limit of {limit} bytes."
            )
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            job = import_job_create(
                project=project,
                upload=data.validated_data["file"],
                filename=data.validated_data["file"].name,
                format=data.validated_data["format"],
                splitter=data.validated_data["splitter"],
                created_by=request.user,
            )
            transaction.on_commit(lambda: trace_import_task.delay(job.pk))
        return Response(self.OutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ImportDetailApi(ProjectScopedMixin, APIView):
    permission_classes = [IsLead]

    OutputSerializer = ImportJobOutputSerializer

    @extend_schema(
        operation_id="import_detail",
        responses={200: OutputSerializer},
        summary="One import job: state, processed/total lines, result or errors (lead only).",
    )
    def get(self, request, slug: str, pk: int):
        job = (
            ImportJob.objects.filter(project=self.get_project(), pk=pk)
            .select_related("created_by")
            .first()
        )
        if job is None:
            raise NotFound("No such import in this project.")
        return Response(self.OutputSerializer(job).data)


urlpatterns = [
    path("projects/<slug:slug>/imports/", ImportListCreateApi.as_view(), name="import-list"),
    path("projects/<slug:slug>/imports/<int:pk>/", ImportDetailApi.as_view(), name="import-detail"),
]
