"""Lead endpoints: taxonomy drafts and publishing, members, settings, adjudication and gold."""
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.permissions import IsLead, ProjectScopedMixin
from labeling.models import Category, TaxonomyVersion
from labeling.selectors.taxonomies import (
    categories_for_version,
    taxonomy_draft_for_project,
    taxonomy_version_has_labels,
    taxonomy_versions_for_project,
)
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


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = Category
        fields = [
            "key", "name", "description", "polarity", "hotkey", "colour", "parent",
            "is_rationale_required", "position",
        ]


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
            "categories": CategorySerializer(
                categories_for_version(version=current), many=True
            ).data,
            "has_labels": taxonomy_version_has_labels(version=current),
        },
        "draft": None if draft is None else {
            "notes": draft.notes,
            "categories": CategorySerializer(categories_for_version(version=draft), many=True).data,
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
    class InputSerializer(serializers.Serializer):
        categories = CategoryInputSerializer(many=True, required=False)
        mapping = serializers.DictField(
            child=serializers.CharField(max_length=50), required=False, default=dict
        )
        notes = serializers.CharField(allow_blank=True, required=False, default="")

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
            mapping=payload["mapping"], notes=payload["notes"],
        )
        project.refresh_from_db()
        return Response(_taxonomy_state(project), status=status.HTTP_201_CREATED)


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
]
