"""Members page: who is in the project with which role; changes go through the lead API."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from frontend.lead.access import lead_page
from labeling.models import Membership, Project
from labeling.selectors.members import members_for_project


@lead_page
def members(request: HttpRequest, project: Project) -> HttpResponse:
    """List the members with role and label count, with forms to add and create users."""
    return render(request, "frontend/lead/members.html", {
        "project": project,
        "lead_tab": "members",
        "members": members_for_project(project=project),
        "roles": Membership.Role.choices,
    })
