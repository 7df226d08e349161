"""API routes of the exports app."""

urlpatterns: list = []
