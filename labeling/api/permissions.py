"""DRF permissions by project role; views name the project with a `slug` URL argument."""
from django.shortcuts import get_object_or_404
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission

from labeling.models import Membership, Project
from labeling.permissions import project_role

Role = Membership.Role


class ProjectScopedMixin:
    """Load the project named by the URL once per request, and the caller's role in it.

    A non-member gets 404 (the project's existence is not disclosed); a member whose role
    is not allowed gets 403 from the permission class.
    """

    project_url_kwarg = "slug"

    def get_project(self) -> Project:
        if not hasattr(self, "_project"):
            self._project = get_object_or_404(Project, slug=self.kwargs[self.project_url_kwarg])
            self._role = project_role(user=self.request.user, project=self._project)
            if self._role is None and not self.request.user.is_superuser:
                raise NotFound("No such project.")
        return self._project

    def get_role(self) -> str | None:
        self.get_project()
        return self._role


class _HasRole(BasePermission):
    roles: frozenset[str] = frozenset()
    message = "Your role in this project does not allow this."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        role = view.get_role()
        return request.user.is_superuser or role in self.roles


class IsMember(_HasRole):
    roles = frozenset(Role.values)


class IsLead(_HasRole):
    roles = frozenset({Role.LEAD})


class IsAnnotator(_HasRole):
    roles = frozenset({Role.ANNOTATOR, Role.LEAD})


class IsLeadOrResearcher(_HasRole):
    roles = frozenset({Role.LEAD, Role.RESEARCHER})
