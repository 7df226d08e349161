"""API routes of the labeling app, one module per topic."""
from labeling.api import agreement, dashboard, imports, labels, lead, projects

app_name = "labeling"

urlpatterns = [
    *projects.urlpatterns,
    *imports.urlpatterns,
    *labels.urlpatterns,
    *agreement.urlpatterns,
    *lead.urlpatterns,
    *dashboard.urlpatterns,
]
