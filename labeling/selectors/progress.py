"""Progress figures per project and annotator."""
from dataclasses import dataclass

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from labeling.models import Assignment, Membership, Project, Trace, User


@dataclass(frozen=True)
class AnnotatorProjectProgress:
    project: Project
    role: str
    submitted: int
    in_progress: int
    available: int


def _available_traces(*, annotator: User, overlap: int | None = None) -> QuerySet[Trace]:
    """Traces the queue could still hand this annotator: short of overlap, never theirs.

    Mirrors labeling.services.queue: skipped assignments do not count toward overlap, the
    annotator's own assignments (any state) exclude the trace, QC traces are not counted.
    """
    taken = (
        Assignment.objects.filter(trace=OuterRef("pk"))
        .exclude(state=Assignment.State.SKIPPED)
        .values("trace")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        Trace.objects.filter(is_qc=False)
        .exclude(pk__in=Assignment.objects.filter(annotator=annotator).values("trace_id"))
        .annotate(taken=Coalesce(Subquery(taken, output_field=IntegerField()), Value(0)))
        .filter(taken__lt=F("project__overlap") if overlap is None else overlap)
    )


def traces_available_to_annotator(*, project: Project, annotator: User) -> QuerySet[Trace]:
    """Return the project's traces the queue could still hand this annotator (unordered)."""
    return _available_traces(annotator=annotator, overlap=project.overlap).filter(project=project)


def available_trace_count(*, project: Project, annotator: User) -> int:
    """Return how many traces of the project the annotator could still be given."""
    return traces_available_to_annotator(project=project, annotator=annotator).count()


def project_progress_for_annotator(*, user: User) -> list[AnnotatorProjectProgress]:
    """Return, for each project of the user, their submitted / in-progress / available counts.

    Three queries whatever the number of projects: memberships, the user's assignments
    grouped by project, and the available traces grouped by project.
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
    available = dict(
        _available_traces(annotator=user)
        .filter(project_id__in=project_ids)
        .order_by()
        .values("project_id")
        .annotate(n=Count("id"))
        .values_list("project_id", "n")
    )
    return [
        AnnotatorProjectProgress(
            project=m.project,
            role=m.role,
            submitted=mine.get(m.project_id, {}).get("submitted", 0),
            in_progress=mine.get(m.project_id, {}).get("in_progress", 0),
            available=available.get(m.project_id, 0),
        )
        for m in memberships
    ]
