"""Project endpoints: the caller's projects and one project's settings and taxonomy."""
from django.urls import path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.permissions import IsMember, ProjectScopedMixin
from labeling.models import Category, Project
from labeling.permissions import projects_for_user


class CategoryOutputSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = Category
        fields = [
            "key", "name", "description", "polarity", "hotkey", "colour", "parent",
            "is_rationale_required", "position",
        ]


class ProjectOutputSerializer(serializers.ModelSerializer):
    taxonomy_version = serializers.IntegerField(source="taxonomy_version.number", default=None)

    class Meta:
        model = Project
        fields = [
            "slug", "name", "guidelines", "overlap", "labeling_mode", "is_blind",
            "queue_order", "shows_ground_truth", "taxonomy_version",
        ]


class ProjectListApi(APIView):
    class OutputSerializer(ProjectOutputSerializer):
        pass

    def get(self, request):
        projects = projects_for_user(user=request.user).select_related("taxonomy_version")
        return Response(self.OutputSerializer(projects, many=True).data)


class ProjectDetailApi(ProjectScopedMixin, APIView):
    permission_classes = [IsMember]

    class OutputSerializer(ProjectOutputSerializer):
        categories = serializers.SerializerMethodField()
        role = serializers.SerializerMethodField()

        class Meta(ProjectOutputSerializer.Meta):
            fields = [*ProjectOutputSerializer.Meta.fields, "categories", "role"]

        def get_categories(self, project) -> list[dict]:
            if project.taxonomy_version is None:
                return []
            categories = project.taxonomy_version.categories.select_related("parent")
            return CategoryOutputSerializer(categories, many=True).data

        def get_role(self, project) -> str | None:
            return self.context["role"]

    def get(self, request, slug: str):
        project = self.get_project()
        data = self.OutputSerializer(project, context={"role": self.get_role()}).data
        return Response(data)


urlpatterns = [
    path("projects/", ProjectListApi.as_view(), name="project-list"),
    path("projects/<slug:slug>/", ProjectDetailApi.as_view(), name="project-detail"),
]
