"""Membership reads for the lead's members page."""
from django.db.models import Case, Count, IntegerField, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from labeling.errors import NotFound
from labeling.models import Membership, Project, StepLabel


def members_for_project(*, project: Project) -> QuerySet[Membership]:
    """Return the project's memberships with users and each member's label count, one query."""
    labels = (
        StepLabel.objects.filter(trace__project=project, annotator=OuterRef("user_id"))
        .order_by()
        .values("annotator")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        Membership.objects.filter(project=project)
        .select_related("user")
        .annotate(label_count=Coalesce(Subquery(labels), Value(0)))
        .annotate(role_rank=Case(
            When(role=Membership.Role.LEAD, then=Value(0)),
            When(role=Membership.Role.ANNOTATOR, then=Value(1)),
            default=Value(2), output_field=IntegerField(),
        ))
        .order_by("role_rank", "user__username")
    )


def membership_get(*, project: Project, user_id: int) -> Membership:
    """Return the membership of one user in the project, or raise NotFound."""
    membership = (
        Membership.objects.filter(project=project, user_id=user_id).select_related("user").first()
    )
    if membership is None:
        raise NotFound(f"User {user_id} is not a member of this project.", field="user")
    return membership
