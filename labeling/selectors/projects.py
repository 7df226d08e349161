"""Project reads for the lead's settings page."""
from django.db.models import QuerySet

from labeling.models import ImportJob, Membership, Project, Trace, User


def import_jobs_for_project(*, project: Project, limit: int = 10) -> QuerySet[ImportJob]:
    """Return the project's latest import jobs, newest first, with who started them."""
    return (
        ImportJob.objects.filter(project=project).select_related("created_by")
        .order_by("-created_at")[:limit]
    )


def trace_count_for_project(*, project: Project) -> int:
    """Return how many traces the project holds."""
    return Trace.objects.filter(project=project).count()


def user_can_create_projects(*, user: User) -> bool:
    """Return whether the user may create projects: staff, or a lead somewhere."""
    if not user.is_authenticated:
        return False
    return user.is_staff or user.is_superuser or Membership.objects.filter(
        user=user, role=Membership.Role.LEAD
    ).exists()
