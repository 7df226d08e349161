"""What the annotator workspace shows for one trace, in a constant number of queries."""
from dataclasses import dataclass

from django.db.models import Count, Q

from labeling.models import Assignment, Category, Project, Step, StepLabel, User
from labeling.selectors.progress import available_trace_count
from labeling.selectors.taxonomies import categories_by_key


@dataclass(frozen=True)
class TracePage:
    assignment: Assignment
    steps: list[Step]
    labels: dict[int, StepLabel]  # by step index; the viewer's own labels only
    categories: list[Category]
    position: int  # this trace is the viewer's N-th in the project
    total: int  # ... of M they did or can still do


def assignment_for_annotator_get(
    *, project: Project, annotator: User, trace_id: int
) -> Assignment | None:
    """Return the annotator's assignment on the trace of this project, with the trace loaded."""
    return (
        Assignment.objects.select_related("trace")
        .filter(trace_id=trace_id, annotator=annotator, trace__project=project)
        .first()
    )


def categories_for_project(*, project: Project) -> list[Category]:
    """Return the categories of the project's current taxonomy version in display order.

    Published versions never change, so they come from the in-process cache the label
    service keeps (no query once warm).
    """
    if project.taxonomy_version_id is None:
        return []
    categories = categories_by_key(version=project.taxonomy_version)
    return sorted(categories.values(), key=lambda c: (c.position, c.pk))


def trace_page_for_annotator(*, project: Project, assignment: Assignment) -> TracePage:
    """Return the trace, its steps, the assignee's own labels (blind) and the taxonomy.

    Four queries whatever the number of steps: steps, labels, the annotator's assignment
    counts, and the count of traces still available to them (categories come from memory).
    """
    annotator = assignment.annotator
    steps = list(Step.objects.filter(trace_id=assignment.trace_id).order_by("index").only("index", "text", "trace_id"))
    labels = {
        label.step.index: label
        for label in StepLabel.objects.filter(trace_id=assignment.trace_id, annotator=annotator)
        .select_related("step", "category")
        .only("step__index", "category__key", "category__polarity", "rationale", "is_unsure", "polarity")
    }
    mine = Assignment.objects.filter(annotator=annotator, trace__project=project).aggregate(
        done=Count("id", filter=Q(state=Assignment.State.SUBMITTED)),
        open=Count("id", filter=Q(state=Assignment.State.IN_PROGRESS)),
        before=Count(
            "id",
            filter=Q(state=Assignment.State.SUBMITTED)
            & (Q(started_at__lt=assignment.started_at) if assignment.started_at else Q()),
        ),
    )
    available = available_trace_count(project=project, annotator=annotator)
    if assignment.state == Assignment.State.IN_PROGRESS:
        position = mine["done"] + 1
    else:
        position = mine["before"] + 1
    return TracePage(
        assignment=assignment,
        steps=steps,
        labels=labels,
        categories=categories_for_project(project=project),
        position=position,
        total=mine["done"] + mine["open"] + available,
    )
