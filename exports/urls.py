"""Browser routes of the exports app (the researcher's export page)."""

app_name = "exports"

urlpatterns: list = []
