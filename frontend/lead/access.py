"""Role check shared by every lead page: lead only, non-members see no project at all."""
from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from labeling.models import Membership, Project
from labeling.permissions import project_role

LeadView = Callable[..., HttpResponse]


def lead_page(view: LeadView) -> LeadView:
    """Call `view(request, project, ...)` for the project's leads; 404 non-members, 403 others."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, slug: str, *args, **kwargs) -> HttpResponse:
        project = get_object_or_404(Project.objects.select_related("taxonomy_version"), slug=slug)
        role = project_role(user=request.user, project=project)
        if request.user.is_superuser:
            return view(request, project, *args, **kwargs)
        if role is None:
            raise Http404("No such project.")
        if role != Membership.Role.LEAD:
            raise PermissionDenied("Only the project's leads can open this page.")
        return view(request, project, *args, **kwargs)

    return wrapper


def lead_or_researcher_page(view: LeadView) -> LeadView:
    """Like lead_page, for pages researchers may read too (the agreement dashboard)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, slug: str, *args, **kwargs) -> HttpResponse:
        project = get_object_or_404(Project.objects.select_related("taxonomy_version"), slug=slug)
        role = project_role(user=request.user, project=project)
        if request.user.is_superuser:
            request.project_role = role or Membership.Role.LEAD
            return view(request, project, *args, **kwargs)
        if role is None:
            raise Http404("No such project.")
        if role not in (Membership.Role.LEAD, Membership.Role.RESEARCHER):
            raise PermissionDenied("Only the project's leads and researchers can open this page.")
        request.project_role = role
        return view(request, project, *args, **kwargs)

    return wrapper
