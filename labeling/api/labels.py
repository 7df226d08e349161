"""Label and queue endpoints of the annotator workspace.

Every label write goes through the caller's own assignment on the trace: no assignment, no
write (403); a submitted or skipped assignment refuses changes (409). Blind mode: the GET
returns only the caller's labels unless the project is not blind or the caller is its lead.
"""
from django.db import connection
from django.db.models import QuerySet
from django.urls import path, reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.permissions import IsAnnotator, IsMember, ProjectScopedMixin
from labeling.errors import NotAllowed, NotFound
from labeling.models import Assignment, Membership, Project, StepLabel, Trace
from labeling.services.assignments import (
    SavedLabel,
    assignment_label_delete,
    assignment_labels_set,
    assignment_labels_upsert_pg,
    assignment_skip,
    assignment_submit,
    assignment_time_add,
)
from labeling.services.labels import LabelInput
from labeling.services.queue import assignment_next_for_annotator

MAX_RATIONALE = 5000


class WorkspaceScopedMixin(ProjectScopedMixin):
    """Project and role in one query (membership joined to project and taxonomy version).

    The label endpoints are the hottest in the tool, so they skip the two-query lookup of
    ProjectScopedMixin; the outcome is the same (non-member 404, wrong role 403).
    """

    def get_project(self) -> Project:
        if not hasattr(self, "_project"):
            user = self.request.user
            membership = (
                next(
                    iter(
                        Membership.objects.select_related("project__taxonomy_version")
                        .defer("project__guidelines", "project__taxonomy_version__notes")
                        .filter(project__slug=self.kwargs[self.project_url_kwarg], user_id=user.pk)
                        .order_by()[:1]
                    ),
                    None,
                )
                if user.is_authenticated
                else None
            )
            if membership is not None:
                self._project, self._role = membership.project, membership.role
            else:
                super().get_project()
                self._project.taxonomy_version  # noqa: B018 - load it like the member path
        return self._project


class _AssignmentMixin(WorkspaceScopedMixin):
    # PUT on PostgreSQL: the role check runs inside the one-statement save (see
    # assignment_labels_upsert_pg), so the permission classes only require a signed-in user
    # up front; when that statement refuses, check_role() runs them before the ORM path.
    _role_check_deferred = False

    def initial(self, request, *args, **kwargs):
        self._role_check_deferred = request.method == "PUT" and connection.vendor == "postgresql"
        super().initial(request, *args, **kwargs)

    def get_permissions(self):
        if self._role_check_deferred:
            return [IsAuthenticated()]
        return super().get_permissions()

    def check_role(self, request) -> None:
        """Run the view's permission classes now (after a deferred check)."""
        if self._role_check_deferred:
            self._role_check_deferred = False
            self.check_permissions(request)

    def upsert_in_one_statement(self, trace_id: int, labels: list[LabelInput]) -> list[SavedLabel] | None:
        if not self._role_check_deferred or not labels:
            return None
        return assignment_labels_upsert_pg(
            project_slug=self.kwargs[self.project_url_kwarg], annotator=self.request.user,
            trace_id=trace_id, labels=labels,
        )

    def get_own_assignment(self, assignment_id: int) -> Assignment:
        project = self.get_project()
        assignment = (
            Assignment.objects.select_related("trace")
            .filter(pk=assignment_id, trace__project=project, annotator=self.request.user)
            .first()
        )
        if assignment is None:
            raise NotFound(f"You have no assignment {assignment_id} in {project.slug}.")
        assignment.trace.project = project
        assignment.annotator = self.request.user
        return assignment


class LabelOutputSerializer(serializers.ModelSerializer):
    step_index = serializers.IntegerField(source="step.index")
    category = serializers.CharField(source="category.key")
    annotator = serializers.CharField(source="annotator.username")

    class Meta:
        model = StepLabel
        fields = ["step_index", "category", "polarity", "rationale", "is_unsure", "annotator", "updated_at"]


class LabelInputSerializer(serializers.Serializer):
    category = serializers.SlugField(max_length=50)
    rationale = serializers.CharField(max_length=MAX_RATIONALE, allow_blank=True, default="", trim_whitespace=False)
    is_unsure = serializers.BooleanField(default=False)


class _SavedLabelSerializer(serializers.Serializer):
    """Render a just-saved label without touching the database again."""

    step_index = serializers.SerializerMethodField()
    category = serializers.SerializerMethodField()
    polarity = serializers.IntegerField()
    rationale = serializers.CharField()
    is_unsure = serializers.BooleanField()
    updated_at = serializers.DateTimeField()

    def get_step_index(self, label) -> int:
        return self.context["index_by_step"][label.step_id]

    def get_category(self, label) -> str:
        return label.category.key


def _saved(labels: list[StepLabel], index_by_step: dict[int, int]) -> list[dict]:
    return _SavedLabelSerializer(labels, many=True, context={"index_by_step": index_by_step}).data


_updated_at_field = serializers.DateTimeField()


def _saved_fast(label: SavedLabel) -> dict:
    """The same fields as _SavedLabelSerializer, from a label saved in one statement."""
    return {
        "step_index": label.step_index,
        "category": label.category_key,
        "polarity": label.polarity,
        "rationale": label.rationale,
        "is_unsure": label.is_unsure,
        "updated_at": _updated_at_field.to_representation(label.updated_at),
    }


class StepLabelSetApi(_AssignmentMixin, APIView):
    """PUT: save my label of one step (idempotent upsert). DELETE: remove it (undo)."""

    permission_classes = [IsAnnotator]

    class InputSerializer(LabelInputSerializer):
        class Meta:
            ref_name = "StepLabelSetInput"

    @extend_schema(operation_id="step_label_set", request=InputSerializer, responses={200: _SavedLabelSerializer})
    def put(self, request, slug: str, trace_id: int, step_index: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        labels = [LabelInput(step_index=step_index, **_label_kwargs(data.validated_data))]
        fast = self.upsert_in_one_statement(trace_id, labels)
        if fast is not None:
            return Response(_saved_fast(fast[0]))
        self.check_role(request)
        (label,) = assignment_labels_set(
            project=self.get_project(), annotator=request.user, trace_id=trace_id, labels=labels
        )
        return Response(_saved([label], {label.step_id: step_index})[0])

    @extend_schema(operation_id="step_label_delete", responses={204: None})
    def delete(self, request, slug: str, trace_id: int, step_index: int):
        assignment_label_delete(
            project=self.get_project(), annotator=request.user, trace_id=trace_id, step_index=step_index
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def _label_kwargs(validated: dict) -> dict:
    return {
        "category_key": validated["category"],
        "rationale": validated["rationale"].strip(),
        "is_unsure": validated["is_unsure"],
    }


class TraceLabelsApi(_AssignmentMixin, APIView):
    """GET: labels of a trace (mine; everyone's only when not blind or for the lead).
    PUT: save many of my labels of the trace in one request (bulk, idempotent)."""

    permission_classes = [IsMember]

    class BulkItemSerializer(LabelInputSerializer):
        step_index = serializers.IntegerField(min_value=0)

        class Meta:
            ref_name = "TraceLabelsItem"

    class InputSerializer(serializers.Serializer):
        labels = serializers.ListField(max_length=1000)

        class Meta:
            ref_name = "TraceLabelsSetInput"

        def validate_labels(self, items):
            # One pass of the item serializer; its errors are keyed "labels[i]" so the
            # client sees which item is wrong.
            item_serializer = TraceLabelsApi.BulkItemSerializer(data=items, many=True)
            if not item_serializer.is_valid():
                raw = item_serializer.errors
                pairs = raw.items() if isinstance(raw, dict) else enumerate(raw)
                raise serializers.ValidationError({f"labels[{i}]": e for i, e in pairs if e})
            indexes = [x["step_index"] for x in item_serializer.validated_data]
            if len(indexes) != len(set(indexes)):
                raise serializers.ValidationError("Each step_index may appear once.")
            return item_serializer.validated_data

    def _can_see_all(self) -> bool:
        """Blind mode: only leads (and superusers) see other annotators' labels."""
        return (
            not self.get_project().is_blind
            or self.get_role() == Membership.Role.LEAD
            or self.request.user.is_superuser
        )

    def _labels_visible(self, trace_id: int, scope: str) -> QuerySet[StepLabel]:
        project = self.get_project()
        labels = StepLabel.objects.filter(trace_id=trace_id, trace__project=project).select_related(
            "step", "category", "annotator"
        ).order_by("step__index", "annotator__username")
        if scope == "all" and self._can_see_all():
            return labels
        return labels.filter(annotator=self.request.user)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "scope", str, enum=["mine", "all"],
                description="'all' returns every annotator's labels; refused in blind mode "
                "unless you lead the project.",
            )
        ],
        responses={200: LabelOutputSerializer(many=True)},
        operation_id="trace_labels_list",
    )
    def get(self, request, slug: str, trace_id: int):
        scope = request.query_params.get("scope", "mine")
        if scope not in {"mine", "all"}:
            raise serializers.ValidationError({"scope": "Use 'mine' or 'all'."})
        project = self.get_project()
        if scope == "all" and not self._can_see_all():
            raise NotAllowed("The project is blind: you can only see your own labels.", field="scope")
        if not Trace.objects.filter(pk=trace_id, project=project).exists():
            raise NotFound(f"Project {project.slug} has no trace {trace_id}.", field="trace")
        return Response(LabelOutputSerializer(self._labels_visible(trace_id, scope), many=True).data)

    @extend_schema(
        operation_id="trace_labels_set",
        request=inline_serializer("TraceLabelsSetRequest", {"labels": BulkItemSerializer(many=True)}),
        responses={200: inline_serializer("BulkSaved", {"labels": _SavedLabelSerializer(many=True)})},
    )
    def put(self, request, slug: str, trace_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        items = data.validated_data["labels"]
        labels = [LabelInput(step_index=x["step_index"], **_label_kwargs(x)) for x in items]
        fast = self.upsert_in_one_statement(trace_id, labels)
        if fast is not None:
            return Response({"labels": [_saved_fast(x) for x in fast]})
        self.check_role(request)
        if self.get_role() not in IsAnnotator.roles and not request.user.is_superuser:
            raise NotAllowed("Your role in this project does not allow labelling.")
        saved = assignment_labels_set(
            project=self.get_project(), annotator=request.user, trace_id=trace_id, labels=labels
        )
        index_by_step = {label.step_id: item["step_index"] for label, item in zip(saved, items, strict=True)}
        return Response({"labels": _saved(saved, index_by_step)})


class _AssignmentOutputSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = ["id", "trace_id", "state", "skip_reason", "seconds_spent", "started_at", "submitted_at", "url"]

    def get_url(self, assignment) -> str:
        return reverse(
            "frontend:trace", kwargs={"slug": self.context["slug"], "trace_id": assignment.trace_id}
        )


class QueueNextApi(WorkspaceScopedMixin, APIView):
    """POST: my in-progress trace, else the next trace that still needs annotators (204: none)."""

    permission_classes = [IsAnnotator]

    @extend_schema(request=None, responses={200: _AssignmentOutputSerializer, 204: None})
    def post(self, request, slug: str):
        assignment = assignment_next_for_annotator(project=self.get_project(), annotator=request.user)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(_AssignmentOutputSerializer(assignment, context={"slug": slug}).data)


class AssignmentSubmitApi(_AssignmentMixin, APIView):
    """POST: submit my assignment; 400 `submission_incomplete` lists missing steps/rationales."""

    permission_classes = [IsAnnotator]

    class InputSerializer(serializers.Serializer):
        seconds = serializers.FloatField(min_value=0, default=0, help_text="Active time since the last heartbeat.")

        class Meta:
            ref_name = "AssignmentSubmitInput"

    @extend_schema(request=InputSerializer, responses={200: _AssignmentOutputSerializer})
    def post(self, request, slug: str, assignment_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = self.get_project()
        assignment = assignment_submit(
            assignment=self.get_own_assignment(assignment_id),
            is_first_error_mode=project.labeling_mode == Project.LabelingMode.FIRST_ERROR,
            extra_seconds=data.validated_data["seconds"],
        )
        return Response(_AssignmentOutputSerializer(assignment, context={"slug": slug}).data)


class AssignmentSkipApi(_AssignmentMixin, APIView):
    """POST: give the trace back with a reason (bad_problem, cannot_judge, other + note)."""

    permission_classes = [IsAnnotator]

    class InputSerializer(serializers.Serializer):
        reason = serializers.ChoiceField(choices=Assignment.SkipReason.choices)
        note = serializers.CharField(max_length=2000, allow_blank=True, default="")

        class Meta:
            ref_name = "AssignmentSkipInput"

    @extend_schema(request=InputSerializer, responses={200: _AssignmentOutputSerializer})
    def post(self, request, slug: str, assignment_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = assignment_skip(
            assignment=self.get_own_assignment(assignment_id), **data.validated_data
        )
        return Response(_AssignmentOutputSerializer(assignment, context={"slug": slug}).data)


class AssignmentHeartbeatApi(_AssignmentMixin, APIView):
    """POST: add the seconds the page was visible since the last beat to my time on the trace."""

    permission_classes = [IsAnnotator]

    class InputSerializer(serializers.Serializer):
        seconds = serializers.FloatField(min_value=0, max_value=3600)

        class Meta:
            ref_name = "AssignmentHeartbeatInput"

    @extend_schema(request=InputSerializer, responses={204: None})
    def post(self, request, slug: str, assignment_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment_time_add(
            assignment=self.get_own_assignment(assignment_id), seconds=data.validated_data["seconds"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path(
        "projects/<slug:slug>/traces/<int:trace_id>/labels/",
        TraceLabelsApi.as_view(),
        name="trace-labels",
    ),
    path(
        "projects/<slug:slug>/traces/<int:trace_id>/labels/<int:step_index>/",
        StepLabelSetApi.as_view(),
        name="step-label",
    ),
    path("projects/<slug:slug>/queue/next/", QueueNextApi.as_view(), name="queue-next"),
    path(
        "projects/<slug:slug>/assignments/<int:assignment_id>/submit/",
        AssignmentSubmitApi.as_view(),
        name="assignment-submit",
    ),
    path(
        "projects/<slug:slug>/assignments/<int:assignment_id>/skip/",
        AssignmentSkipApi.as_view(),
        name="assignment-skip",
    ),
    path(
        "projects/<slug:slug>/assignments/<int:assignment_id>/heartbeat/",
        AssignmentHeartbeatApi.as_view(),
        name="assignment-heartbeat",
    ),
]
