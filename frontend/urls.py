"""Browser routes."""
from django.contrib.auth import views as auth_views
from django.urls import path

from frontend import views

app_name = "frontend"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="frontend/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("projects/<slug:slug>/start/", views.labeling_start, name="labeling-start"),
    path("projects/<slug:slug>/traces/<int:trace_id>/", views.trace, name="trace"),
]
