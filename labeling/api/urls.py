"""API routes of the labeling app, one module per topic."""
from labeling.api import agreement, imports, labels, lead, projects

app_name = "labeling"

urlpatterns = [
    *projects.urlpatterns,
    *imports.urlpatterns,
    *labels.urlpatterns,
    *agreement.urlpatterns,
    *lead.urlpatterns,
]
