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


def _role_page(roles: frozenset[str], refusal: str) -> Callable[[LeadView], LeadView]:
    """Build a decorator calling `view(request, project, ...)` for members with one of `roles`.

    Superusers pass as leads; non-members get 404 (the project is not disclosed), other
    members 403. The caller's role is left on `request.project_role` for the template.
    """

    def decorate(view: LeadView) -> LeadView:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args, **kwargs) -> HttpResponse:
            project = get_object_or_404(
                Project.objects.select_related("taxonomy_version"), slug=slug
            )
            if request.user.is_superuser:
                request.project_role = Membership.Role.LEAD
                return view(request, project, *args, **kwargs)
            role = project_role(user=request.user, project=project)
            if role is None:
                raise Http404("No such project.")
            if role not in roles:
                raise PermissionDenied(refusal)
            request.project_role = role
            return view(request, project, *args, **kwargs)

        return wrapper

    return decorate


lead_page = _role_page(
    frozenset({Membership.Role.LEAD}), "Only the project's leads can open this page."
)
lead_or_researcher_page = _role_page(
    frozenset({Membership.Role.LEAD, Membership.Role.RESEARCHER}),
    "Only the project's leads and researchers can open this page.",
)
