"""Progress figures per project and annotator."""
from dataclasses import dataclass

from django.db.models import Count, Q

from labeling.models import Assignment, Membership, Project, Trace, User


@dataclass(frozen=True)
class AnnotatorProjectProgress:
    project: Project
    role: str
    submitted: int
    in_progress: int
    available: int


def project_progress_for_annotator(*, user: User) -> list[AnnotatorProjectProgress]:
    """Return, for each project of the user, their submitted / in-progress / available counts.

    Available = traces that still need annotators and that this user has not taken: one
    grouped query for the user's own assignments, then one count per project.
    """
    memberships = list(
        Membership.objects.filter(user=user).select_related("project").order_by("project__name")
    )
    project_ids = [m.project_id for m in memberships]
    mine = {
        row["trace__project_id"]: row
        for row in Assignment.objects.filter(annotator=user, trace__project_id__in=project_ids)
        .values("trace__project_id")
        .annotate(
            submitted=Count("id", filter=Q(state=Assignment.State.SUBMITTED)),
            in_progress=Count("id", filter=Q(state=Assignment.State.IN_PROGRESS)),
        )
    }
    open_counts: dict[int, int] = {}
    for m in memberships:
        taken = Count(
            "assignments",
            filter=~Q(assignments__state=Assignment.State.SKIPPED),
            distinct=True,
        )
        open_counts[m.project_id] = (
            Trace.objects.filter(project_id=m.project_id)
            .exclude(assignments__annotator=user)
            .annotate(taken=taken)
            .filter(taken__lt=m.project.overlap)
            .count()
        )
    return [
        AnnotatorProjectProgress(
            project=m.project,
            role=m.role,
            submitted=mine.get(m.project_id, {}).get("submitted", 0),
            in_progress=mine.get(m.project_id, {}).get("in_progress", 0),
            available=open_counts[m.project_id],
        )
        for m in memberships
    ]
