"""Browser routes of the exports app (the researcher's export page)."""
from django.urls import path

from exports import views

app_name = "exports"

urlpatterns = [
    path("", views.export_page, name="page"),
]
