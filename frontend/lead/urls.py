"""Routes of the lead area, mounted at projects/<slug>/lead/."""
from django.urls import path

from frontend.lead import members, taxonomy

app_name = "lead"

urlpatterns = [
    path("taxonomy/", taxonomy.taxonomy_designer, name="taxonomy"),
    path("members/", members.members, name="members"),
]
