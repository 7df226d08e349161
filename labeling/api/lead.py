"""Lead endpoints: taxonomy drafts and publishing, members, settings, adjudication and gold."""
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.permissions import IsLead, ProjectScopedMixin
from labeling.api.projects import CategoryOutputSerializer
from labeling.errors import NotFound
from labeling.models import GoldLabel, Membership, Project, TaxonomyVersion, Trace, User
from labeling.selectors.adjudication import (
    STATUSES,
    disputed_traces_for_project,
    trace_adjudication_for_lead,
)
from labeling.selectors.members import members_for_project, membership_get
from labeling.selectors.taxonomy_versions import (
    categories_for_version,
    taxonomy_draft_for_project,
    taxonomy_version_has_labels,
    taxonomy_versions_for_project,
)
from labeling.services.gold import gold_label_delete, gold_label_set, gold_labels_from_unanimous
from labeling.services.members import (
    member_user_create,
    membership_add,
    membership_remove,
    membership_role_change,
)
from labeling.services.projects import project_create_by, project_update
from labeling.services.taxonomies import (
    taxonomy_draft_discard,
    taxonomy_draft_save,
    taxonomy_publish,
)


class LeadApi(ProjectScopedMixin, APIView):
    """Base of every lead endpoint: the project from the URL, lead role required."""

    permission_classes = [IsLead]


# --- taxonomy -------------------------------------------------------------------------------


class CategoryInputSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=50, allow_blank=True)
    name = serializers.CharField(max_length=100, allow_blank=True)
    description = serializers.CharField(allow_blank=True, required=False, default="")
    polarity = serializers.IntegerField(allow_null=True)
    hotkey = serializers.CharField(max_length=5, allow_blank=True, required=False, default="")
    colour = serializers.CharField(max_length=20, required=False, default="#888888")
    parent = serializers.CharField(
        max_length=50, allow_blank=True, allow_null=True, required=False, default=None
    )
    is_rationale_required = serializers.BooleanField(required=False, default=False)


class TaxonomyVersionSerializer(serializers.ModelSerializer):
    published_by = serializers.CharField(source="published_by.username", default=None)
    category_count = serializers.IntegerField(default=None)

    class Meta:
        model = TaxonomyVersion
        fields = ["number", "published_at", "published_by", "notes", "category_count"]


def _taxonomy_state(project) -> dict:
    current = project.taxonomy_version
    draft = taxonomy_draft_for_project(project=project)
    return {
        "current": {
            "number": current.number if current else None,
            "categories": CategoryOutputSerializer(
                categories_for_version(version=current), many=True
            ).data,
            "has_labels": taxonomy_version_has_labels(version=current),
        },
        "draft": None if draft is None else {
            "notes": draft.notes,
            "categories": CategoryOutputSerializer(categories_for_version(version=draft), many=True).data,
        },
        "versions": TaxonomyVersionSerializer(
            taxonomy_versions_for_project(project=project), many=True
        ).data,
    }


class TaxonomyOutputSerializer(serializers.Serializer):
    current = serializers.DictField()
    draft = serializers.DictField(allow_null=True)
    versions = TaxonomyVersionSerializer(many=True)


class TaxonomyDetailApi(LeadApi):
    @extend_schema(responses=TaxonomyOutputSerializer)
    def get(self, request, slug: str):
        """Return the current version, the draft (if any) and the published history."""
        project = self.get_project()
        return Response(_taxonomy_state(project))


class TaxonomyDraftApi(LeadApi):
    @extend_schema_serializer(component_name="TaxonomyDraftInput")
    class InputSerializer(serializers.Serializer):
        categories = CategoryInputSerializer(many=True)
        notes = serializers.CharField(allow_blank=True, required=False, default="")

    @extend_schema(request=InputSerializer, responses=TaxonomyOutputSerializer)
    def put(self, request, slug: str):
        """Validate and store the categories as the project's draft (replacing it)."""
        project = self.get_project()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        taxonomy_draft_save(
            project=project, categories=data.validated_data["categories"],
            notes=data.validated_data["notes"],
        )
        return Response(_taxonomy_state(project))

    @extend_schema(responses={204: None})
    def delete(self, request, slug: str):
        """Discard the draft."""
        taxonomy_draft_discard(project=self.get_project())
        return Response(status=status.HTTP_204_NO_CONTENT)


class TaxonomyPublishApi(LeadApi):
    @extend_schema_serializer(component_name="TaxonomyPublishInput")
    class InputSerializer(serializers.Serializer):
        categories = CategoryInputSerializer(many=True, required=False)
        mapping = serializers.DictField(
            child=serializers.CharField(max_length=50), required=False, default=dict
        )
        notes = serializers.CharField(allow_blank=True, required=False)

    @extend_schema(request=InputSerializer, responses={201: TaxonomyOutputSerializer})
    def post(self, request, slug: str):
        """Publish the draft (saved first from `categories` when given) as a new version.

        When the current version has labels, `mapping` maps every old key to a new key.
        """
        project = self.get_project()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payload = data.validated_data
        taxonomy_publish(
            project=project, published_by=request.user, categories=payload.get("categories"),
            mapping=payload["mapping"], notes=payload.get("notes"),
        )
        return Response(_taxonomy_state(project), status=status.HTTP_201_CREATED)


# --- members --------------------------------------------------------------------------------


class MemberOutputSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField(source="user.id")
    username = serializers.CharField(source="user.username")
    full_name = serializers.CharField(source="user.get_full_name")
    email = serializers.CharField(source="user.email")
    label_count = serializers.IntegerField(default=0)

    class Meta:
        model = Membership
        fields = ["user_id", "username", "full_name", "email", "role", "label_count", "created_at"]


class MemberListApi(LeadApi):
    @extend_schema_serializer(component_name="MemberListInput")
    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        role = serializers.ChoiceField(choices=Membership.Role.choices)

    @extend_schema(responses=MemberOutputSerializer(many=True))
    def get(self, request, slug: str):
        """List the members with their role and label count."""
        members = members_for_project(project=self.get_project())
        return Response(MemberOutputSerializer(members, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: MemberOutputSerializer})
    def post(self, request, slug: str):
        """Add an existing user, named by username, with a role."""
        project = self.get_project()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = User.objects.filter(username__iexact=data.validated_data["username"].strip()).first()
        if user is None:
            raise NotFound(
                f"No user called {data.validated_data['username']!r}; create the user instead.",
                field="username",
            )
        membership = membership_add(project=project, user=user, role=data.validated_data["role"])
        return Response(MemberOutputSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberUserCreateApi(LeadApi):
    @extend_schema_serializer(component_name="MemberUserCreateInput")
    class InputSerializer(serializers.Serializer):
        username = serializers.RegexField(r"^[\w.@+-]+$", max_length=150)
        password = serializers.CharField(max_length=128, trim_whitespace=False)
        email = serializers.EmailField(required=False, allow_blank=True, default="")
        first_name = serializers.CharField(
            max_length=150, required=False, allow_blank=True, default=""
        )
        last_name = serializers.CharField(
            max_length=150, required=False, allow_blank=True, default=""
        )
        role = serializers.ChoiceField(choices=Membership.Role.choices)

    @extend_schema(request=InputSerializer, responses={201: MemberOutputSerializer})
    def post(self, request, slug: str):
        """Create a user account and add it to the project with a role."""
        project = self.get_project()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = member_user_create(project=project, **data.validated_data)
        return Response(MemberOutputSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailApi(LeadApi):
    @extend_schema_serializer(component_name="MemberDetailInput")
    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=Membership.Role.choices)

    @extend_schema(request=InputSerializer, responses=MemberOutputSerializer)
    def patch(self, request, slug: str, user_id: int):
        """Change a member's role; the last lead cannot step down."""
        membership = membership_get(project=self.get_project(), user_id=user_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = membership_role_change(membership=membership, role=data.validated_data["role"])
        # Re-read through the selector so the response carries the member's label count.
        membership = members_for_project(project=self.get_project()).get(pk=membership.pk)
        return Response(MemberOutputSerializer(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request, slug: str, user_id: int):
        """Remove a member; their labels stay."""
        membership_remove(membership=membership_get(project=self.get_project(), user_id=user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- project settings -----------------------------------------------------------------------


class ProjectSettingsSerializer(serializers.ModelSerializer):
    taxonomy_version = serializers.IntegerField(source="taxonomy_version.number", default=None)

    class Meta:
        model = Project
        fields = [
            "slug", "name", "guidelines", "overlap", "labeling_mode", "is_blind", "queue_order",
            "queue_seed", "shows_ground_truth", "qc_rate", "taxonomy_version", "updated_at",
        ]


class ProjectSettingsInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    guidelines = serializers.CharField(allow_blank=True, required=False, max_length=100_000)
    overlap = serializers.IntegerField(min_value=1, max_value=50, required=False)
    labeling_mode = serializers.ChoiceField(choices=Project.LabelingMode.choices, required=False)
    is_blind = serializers.BooleanField(required=False)
    queue_order = serializers.ChoiceField(choices=Project.QueueOrder.choices, required=False)
    queue_seed = serializers.IntegerField(required=False)
    shows_ground_truth = serializers.BooleanField(required=False)
    qc_rate = serializers.FloatField(min_value=0, max_value=1, required=False)


class ProjectSettingsApi(LeadApi):
    @extend_schema(responses=ProjectSettingsSerializer)
    def get(self, request, slug: str):
        """Return the project's settings."""
        return Response(ProjectSettingsSerializer(self.get_project()).data)

    @extend_schema(request=ProjectSettingsInputSerializer, responses=ProjectSettingsSerializer)
    def patch(self, request, slug: str):
        """Change any of the settings given; the others stay."""
        data = ProjectSettingsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_update(project=self.get_project(), **data.validated_data)
        return Response(ProjectSettingsSerializer(project).data)


class ProjectCreateApi(APIView):
    @extend_schema_serializer(component_name="ProjectCreateInput")
    class InputSerializer(ProjectSettingsInputSerializer):
        name = serializers.CharField(max_length=200)
        slug = serializers.SlugField(max_length=100)

    @extend_schema(request=InputSerializer, responses={201: ProjectSettingsSerializer})
    def post(self, request):
        """Create a project with the default taxonomy; the caller becomes its lead.

        Staff and people who already lead a project may create projects.
        """
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_create_by(user=request.user, **data.validated_data)
        return Response(ProjectSettingsSerializer(project).data, status=status.HTTP_201_CREATED)


# --- adjudication and gold ------------------------------------------------------------------


class DisputedTraceSerializer(serializers.Serializer):
    trace_id = serializers.IntegerField()
    external_id = serializers.CharField()
    problem = serializers.CharField()
    generator = serializers.CharField()
    step_count = serializers.IntegerField()
    disputed_step_count = serializers.IntegerField()
    open_step_count = serializers.IntegerField()
    unanimous_open_step_count = serializers.IntegerField()
    annotator_count = serializers.IntegerField()


class DisputedTracePageSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    per_page = serializers.IntegerField()
    page_count = serializers.IntegerField()
    total = serializers.IntegerField()
    open_trace_count = serializers.IntegerField()
    disputed_trace_count = serializers.IntegerField()
    open_step_count = serializers.IntegerField()
    unanimous_open_step_count = serializers.IntegerField()
    rows = DisputedTraceSerializer(many=True)


class AdjudicationListApi(LeadApi):
    @extend_schema_serializer(component_name="AdjudicationListFilter")
    class FilterSerializer(serializers.Serializer):
        page = serializers.IntegerField(min_value=1, required=False, default=1)
        per_page = serializers.IntegerField(min_value=1, max_value=200, required=False, default=50)
        status = serializers.ChoiceField(choices=STATUSES, required=False, default="open")

    @extend_schema(parameters=[FilterSerializer], responses=DisputedTracePageSerializer)
    def get(self, request, slug: str):
        """List traces by disputed steps, most first; `status` open (no gold yet) or disputed."""
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        result = disputed_traces_for_project(project=self.get_project(), **filters.validated_data)
        return Response(DisputedTracePageSerializer(result).data)


class GoldOutputSerializer(serializers.ModelSerializer):
    step_index = serializers.IntegerField(source="step.index")
    category = serializers.CharField(source="category.key")
    decided_by = serializers.CharField(source="decided_by.username", default=None)

    class Meta:
        model = GoldLabel
        fields = [
            "step_index", "category", "polarity", "method", "decided_by", "decided_at", "note",
        ]


class AdjudicationTraceApi(LeadApi):
    @extend_schema_serializer(component_name="AdjudicationTraceOutput")
    class OutputSerializer(serializers.Serializer):
        trace_id = serializers.IntegerField(source="trace.pk")
        problem = serializers.CharField(source="trace.problem")
        annotators = serializers.SerializerMethodField()
        steps = serializers.SerializerMethodField()
        previous_trace_id = serializers.IntegerField(allow_null=True)
        next_trace_id = serializers.IntegerField(allow_null=True)

        def get_annotators(self, view) -> list[dict]:
            return [
                {"user_id": a.user_id, "username": a.username, "is_source": a.is_source}
                for a in view.annotators
            ]

        def get_steps(self, view) -> list[dict]:
            return [
                {
                    "index": row.step.index,
                    "text": row.step.text,
                    "is_disputed": row.is_disputed,
                    "majority": row.majority.key if row.majority else None,
                    "labels": [
                        None if cell.category is None else {
                            "category": cell.category.key,
                            "mapped_category": (
                                cell.mapped_category.key if cell.mapped_category else None
                            ),
                            "polarity": cell.category.polarity,
                            "rationale": cell.rationale,
                            "is_unsure": cell.is_unsure,
                        }
                        for cell in row.cells
                    ],
                    "gold": GoldOutputSerializer(row.gold).data if row.gold else None,
                }
                for row in view.rows
            ]

    @extend_schema(responses=OutputSerializer)
    def get(self, request, slug: str, trace_id: int):
        """Return every annotator's label and rationale per step, side by side, with gold."""
        view = trace_adjudication_for_lead(project=self.get_project(), trace_id=trace_id)
        return Response(self.OutputSerializer(view).data)


class GoldLabelApi(LeadApi):
    @extend_schema_serializer(component_name="GoldLabelInput")
    class InputSerializer(serializers.Serializer):
        category = serializers.CharField(max_length=50)
        method = serializers.ChoiceField(
            choices=[GoldLabel.Method.LEAD, GoldLabel.Method.MAJORITY], required=False,
            default=GoldLabel.Method.LEAD,
        )
        note = serializers.CharField(allow_blank=True, required=False, default="")

    def _trace(self, trace_id: int) -> Trace:
        trace = Trace.objects.filter(project=self.get_project(), pk=trace_id).first()
        if trace is None:
            raise NotFound(f"Trace {trace_id} is not in this project.", field="trace")
        return trace

    @extend_schema(request=InputSerializer, responses=GoldOutputSerializer)
    def put(self, request, slug: str, trace_id: int, step_index: int):
        """Set the step's gold label (a lead decision, or accepting the majority)."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        gold = gold_label_set(
            project=self.get_project(), trace=self._trace(trace_id), step_index=step_index,
            category_key=data.validated_data["category"], decided_by=request.user,
            method=data.validated_data["method"], note=data.validated_data["note"],
        )
        return Response(GoldOutputSerializer(gold).data)

    @extend_schema(responses={204: None})
    def delete(self, request, slug: str, trace_id: int, step_index: int):
        """Remove the step's gold label."""
        gold_label_delete(trace=self._trace(trace_id), step_index=step_index)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GoldUnanimousApi(LeadApi):
    @extend_schema_serializer(component_name="GoldUnanimousOutput")
    class OutputSerializer(serializers.Serializer):
        created = serializers.IntegerField()

    @extend_schema(request=None, responses={201: OutputSerializer})
    def post(self, request, slug: str):
        """Turn every unanimous step (two or more humans, one category, no gold) into gold."""
        created = gold_labels_from_unanimous(project=self.get_project(), decided_by=request.user)
        return Response({"created": created}, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("projects/<slug:slug>/taxonomy/", TaxonomyDetailApi.as_view(), name="lead-taxonomy"),
    path(
        "projects/<slug:slug>/taxonomy/draft/", TaxonomyDraftApi.as_view(),
        name="lead-taxonomy-draft",
    ),
    path(
        "projects/<slug:slug>/taxonomy/publish/", TaxonomyPublishApi.as_view(),
        name="lead-taxonomy-publish",
    ),
    path("projects/<slug:slug>/members/", MemberListApi.as_view(), name="lead-members"),
    path(
        "projects/<slug:slug>/members/create-user/", MemberUserCreateApi.as_view(),
        name="lead-member-user-create",
    ),
    path(
        "projects/<slug:slug>/members/<int:user_id>/", MemberDetailApi.as_view(),
        name="lead-member-detail",
    ),
    path("projects/<slug:slug>/settings/", ProjectSettingsApi.as_view(), name="lead-settings"),
    path("lead/projects/", ProjectCreateApi.as_view(), name="lead-project-create"),
    path("projects/<slug:slug>/adjudication/", AdjudicationListApi.as_view(),
         name="lead-adjudication"),
    path("projects/<slug:slug>/adjudication/traces/<int:trace_id>/",
         AdjudicationTraceApi.as_view(), name="lead-adjudication-trace"),
    path("projects/<slug:slug>/adjudication/traces/<int:trace_id>/steps/<int:step_index>/gold/",
         GoldLabelApi.as_view(), name="lead-gold-label"),
    path("projects/<slug:slug>/gold/unanimous/", GoldUnanimousApi.as_view(),
         name="lead-gold-unanimous"),
]
