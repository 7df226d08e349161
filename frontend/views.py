"""Pages: each view loads what it shows through labeling selectors and renders a template."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from labeling.selectors.progress import project_progress_for_annotator


@login_required
def home(request):
    """List the caller's projects with their own progress in each."""
    rows = project_progress_for_annotator(user=request.user)
    return render(request, "frontend/home.html", {"rows": rows})
