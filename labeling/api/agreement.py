"""API endpoints for agreement."""

urlpatterns: list = []
