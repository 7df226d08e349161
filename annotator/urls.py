"""Top-level URL map: admin, API, OpenAPI schema and the browser UI."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("labeling.api.urls")),
    path("api/", include("exports.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("projects/<slug:slug>/exports/", include("exports.urls")),
    path("projects/new/", include("frontend.lead.new_urls")),
    path("projects/<slug:slug>/lead/", include("frontend.lead.urls")),
    path("", include("frontend.urls")),
]
