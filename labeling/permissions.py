"""Project-role checks shared by the API and the pages."""
from django.db.models import QuerySet

from labeling.models import Membership, Project, User

Role = Membership.Role


def project_role(*, user: User, project: Project) -> str | None:
    """Return the user's role in the project, or None when they are not a member."""
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()
    )


def projects_for_user(*, user: User) -> QuerySet[Project]:
    """Return the projects the user is a member of."""
    return Project.objects.filter(memberships__user=user).distinct()
