"""API endpoints for labels."""

urlpatterns: list = []
