"""The researcher's export page: choose options, watch progress, download, see past exports."""
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from exports.options import AGGREGATES, FILE_FORMATS, FORMATS, NEUTRAL_POLICIES, SOURCE_POLICIES
from exports.selectors import export_job_list_for_project, export_page_choices
from labeling.models import Membership, Project
from labeling.permissions import project_role

LIST_LIMIT = 50


@login_required
def export_page(request, slug: str):
    """Render the export form and the project's past exports (leads and researchers only)."""
    project = get_object_or_404(Project, slug=slug)
    role = project_role(user=request.user, project=project)
    if role is None and not request.user.is_superuser:
        raise Http404("No such project.")
    if role == Membership.Role.ANNOTATOR and not request.user.is_superuser:
        raise PermissionDenied("Exports are for the project's leads and researchers.")
    context = {
        "project": project,
        "jobs": list(export_job_list_for_project(project=project)[:LIST_LIMIT]),
        "formats": FORMATS,
        "file_formats": FILE_FORMATS,
        "aggregates": [a for a in AGGREGATES if a != "annotator"],
        "neutral_policies": NEUTRAL_POLICIES,
        "source_policies": SOURCE_POLICIES,
        **export_page_choices(project=project),
    }
    return render(request, "exports/export_page.html", context)
