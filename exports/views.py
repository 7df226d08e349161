"""The researcher's export page: choose options, watch progress, download, see past exports."""
from django.shortcuts import render

from exports.options import AGGREGATES, FILE_FORMATS, FORMATS, NEUTRAL_POLICIES, SOURCE_POLICIES
from exports.selectors import export_job_list_for_project, export_page_choices
from frontend.lead.access import lead_or_researcher_page

LIST_LIMIT = 50


@lead_or_researcher_page
def export_page(request, project):
    """Render the export form and the project's past exports (leads and researchers only)."""
    context = {
        "project": project,
        "lead_tab": "exports",
        "jobs": list(export_job_list_for_project(project=project)[:LIST_LIMIT]),
        "formats": FORMATS,
        "file_formats": FILE_FORMATS,
        "aggregates": [a for a in AGGREGATES if a != "annotator"],
        "neutral_policies": NEUTRAL_POLICIES,
        "source_policies": SOURCE_POLICIES,
        **export_page_choices(project=project),
    }
    return render(request, "exports/export_page.html", context)
