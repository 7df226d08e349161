"""Routes of the lead area, mounted at projects/<slug>/lead/."""
from django.urls import path

from frontend.lead import adjudication, dashboard, members, settings, taxonomy

app_name = "lead"

urlpatterns = [
    path("", settings.project_settings, name="settings"),
    path("guidelines-preview/", settings.guidelines_preview, name="guidelines-preview"),
    path("imports/", settings.import_history, name="import-history"),
    path("taxonomy/", taxonomy.taxonomy_designer, name="taxonomy"),
    path("members/", members.members, name="members"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/csv/", dashboard.dashboard_csv, name="dashboard-csv"),
    path("adjudication/", adjudication.adjudication_list, name="adjudication"),
    path(
        "adjudication/<int:trace_id>/", adjudication.adjudication_trace,
        name="adjudication-trace",
    ),
]
