"""Route of the new-project page, mounted at projects/new/ (it has no project slug yet)."""
from django.urls import path

from frontend.lead import settings

app_name = "lead-new"

urlpatterns = [
    path("", settings.project_new, name="project"),
]
