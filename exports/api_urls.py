"""API routes of the exports app."""
from django.urls import path

from exports import api

urlpatterns = [
    path("projects/<slug:slug>/exports/", api.ExportJobListApi.as_view(), name="export-list"),
    path(
        "projects/<slug:slug>/exports/preview-count/",
        api.ExportPreviewCountApi.as_view(),
        name="export-preview-count",
    ),
    path(
        "projects/<slug:slug>/exports/<int:job_id>/",
        api.ExportJobDetailApi.as_view(),
        name="export-detail",
    ),
    path(
        "projects/<slug:slug>/exports/<int:job_id>/download/",
        api.ExportJobDownloadApi.as_view(),
        name="export-download",
    ),
    path(
        "projects/<slug:slug>/exports/<int:job_id>/retry/",
        api.ExportJobRetryApi.as_view(),
        name="export-retry",
    ),
]
