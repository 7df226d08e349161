"""API endpoints for imports."""

urlpatterns: list = []
