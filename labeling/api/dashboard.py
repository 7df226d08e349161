"""Dashboard endpoints: progress and per-annotator work (leads, researchers); QC marking (leads)."""
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.agreement import WeekSerializer
from labeling.api.permissions import IsLead, IsLeadOrResearcher, ProjectScopedMixin
from labeling.errors import NotFound
from labeling.models import Trace
from labeling.selectors.dashboard import (
    annotator_work_for_project,
    progress_by_state_for_project,
    weekly_trend_for_project,
)
from labeling.services.qc import trace_qc_set


class AnnotatorWorkSerializer(serializers.Serializer):
    username = serializers.CharField()
    labels_done = serializers.IntegerField()
    traces_submitted = serializers.IntegerField()
    median_seconds_per_trace = serializers.FloatField(allow_null=True)
    qc_labels = serializers.IntegerField()
    qc_correct = serializers.IntegerField()
    qc_accuracy = serializers.FloatField(allow_null=True)


class DashboardProgressApi(ProjectScopedMixin, APIView):
    """Traces by state, per-annotator work with QC accuracy, and weekly trends."""

    permission_classes = [IsLeadOrResearcher]

    @extend_schema_serializer(component_name="DashboardProgress")
    class OutputSerializer(serializers.Serializer):
        progress = serializers.DictField(child=serializers.IntegerField())
        annotators = AnnotatorWorkSerializer(many=True)
        weekly = WeekSerializer(many=True)

    @extend_schema(responses=OutputSerializer)
    def get(self, request, slug: str) -> Response:
        project = self.get_project()
        data = {
            "progress": progress_by_state_for_project(project=project),
            "annotators": annotator_work_for_project(project=project),
            "weekly": weekly_trend_for_project(project=project),
        }
        return Response(self.OutputSerializer(data).data)


class TraceQcApi(ProjectScopedMixin, APIView):
    """Mark a trace as a quality-control trace (gold required on every step), or unmark it."""

    permission_classes = [IsLead]

    @extend_schema_serializer(component_name="TraceQcInput")
    class InputSerializer(serializers.Serializer):
        is_qc = serializers.BooleanField()

    @extend_schema_serializer(component_name="TraceQcOutput")
    class OutputSerializer(serializers.Serializer):
        trace_id = serializers.IntegerField(source="pk")
        is_qc = serializers.BooleanField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def put(self, request, slug: str, trace_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        trace = Trace.objects.filter(project=self.get_project(), pk=trace_id).first()
        if trace is None:
            raise NotFound(f"Trace {trace_id} is not in this project.", field="trace")
        trace = trace_qc_set(trace=trace, is_qc=data.validated_data["is_qc"])
        return Response(self.OutputSerializer(trace).data)


urlpatterns = [
    path("projects/<slug:slug>/dashboard/", DashboardProgressApi.as_view(),
         name="dashboard-progress"),
    path("projects/<slug:slug>/traces/<int:trace_id>/qc/", TraceQcApi.as_view(),
         name="trace-qc"),
]
