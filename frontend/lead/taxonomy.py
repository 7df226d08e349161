"""Taxonomy designer page: the editor and preview run in the browser against the lead API."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from frontend.lead.access import lead_page
from labeling.models import Project


@lead_page
def taxonomy_designer(request: HttpRequest, project: Project) -> HttpResponse:
    """Render the designer shell; categories, draft and history load from the API."""
    return render(
        request, "frontend/lead/taxonomy.html", {"project": project, "lead_tab": "taxonomy"}
    )
