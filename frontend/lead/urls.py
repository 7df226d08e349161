"""Routes of the lead area, mounted at projects/<slug>/lead/."""
from django.urls import path

from frontend.lead import adjudication, members, settings, taxonomy

app_name = "lead"

urlpatterns = [
    path("", settings.project_settings, name="settings"),
    path("guidelines-preview/", settings.guidelines_preview, name="guidelines-preview"),
    path("taxonomy/", taxonomy.taxonomy_designer, name="taxonomy"),
    path("members/", members.members, name="members"),
    path("adjudication/", adjudication.adjudication_list, name="adjudication"),
    path(
        "adjudication/<int:trace_id>/", adjudication.adjudication_trace,
        name="adjudication-trace",
    ),
]
