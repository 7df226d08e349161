"""Project setup pages: create a project, edit its settings and guidelines, import traces."""
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from frontend.lead.access import lead_page
from frontend.rendering import render_math_markdown, render_math_markdown_uncached
from labeling.models import Project
from labeling.selectors.projects import (
    import_jobs_for_project,
    trace_count_for_project,
    user_can_create_projects,
)

# Largest guidelines text the preview renders; the settings API refuses longer ones anyway.
PREVIEW_MAX_CHARS = 100_000


def _choices() -> dict:
    return {
        "labeling_modes": Project.LabelingMode.choices,
        "queue_orders": Project.QueueOrder.choices,
    }


@lead_page
def project_settings(request: HttpRequest, project: Project) -> HttpResponse:
    """Render the settings form with a guidelines preview, and the import panel."""
    return render(request, "frontend/lead/settings.html", {
        "project": project,
        "lead_tab": "settings",
        "guidelines_html": render_math_markdown(project.guidelines),
        "imports": import_jobs_for_project(project=project),
        "trace_count": trace_count_for_project(project=project),
        **_choices(),
    })


@lead_page
def import_history(request: HttpRequest, project: Project) -> HttpResponse:
    """Render the recent imports alone: the settings page swaps them in when an import ends."""
    return render(request, "frontend/lead/_import_history.html", {
        "imports": import_jobs_for_project(project=project),
    })


@require_POST
@lead_page
def guidelines_preview(request: HttpRequest, project: Project) -> JsonResponse:
    """Return the posted Markdown `text` as sanitised HTML, as annotators will see it."""
    text = request.POST.get("text", "")
    if len(text) > PREVIEW_MAX_CHARS:
        return JsonResponse(
            {"detail": f"Guidelines are limited to {PREVIEW_MAX_CHARS} characters."}, status=400
        )
    return JsonResponse({"html": render_math_markdown_uncached(text)})


@login_required
def project_new(request: HttpRequest) -> HttpResponse:
    """Render the new-project form for staff and people who already lead a project."""
    if not user_can_create_projects(user=request.user):
        raise PermissionDenied("Only staff and project leads can create projects.")
    return render(request, "frontend/lead/project_new.html", _choices())
