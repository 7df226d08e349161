"""An assignment's life: labelling within it, time spent, submit and skip."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from labeling.completeness import StepMark, completeness_check
from labeling.errors import Conflict, DomainError, NotAllowed, NotFound, SubmissionIncomplete
from labeling.models import Assignment, Project, StepLabel, Trace, User
from labeling.services.labels import LabelInput, step_label_delete, step_labels_write

# One heartbeat may add at most this much time: a page asleep in a background tab for an
# hour must not record an hour of work when it wakes up.
HEARTBEAT_MAX_SECONDS = 120.0


def _require_open(assignment: Assignment) -> None:
    if assignment.state == Assignment.State.SUBMITTED:
        raise Conflict(
            f"Trace {assignment.trace_id} is already submitted; its labels can no longer change.",
            field="assignment",
        )
    if assignment.state == Assignment.State.SKIPPED:
        raise Conflict(f"Trace {assignment.trace_id} was skipped.", field="assignment")


def _assignment_lock(*, project: Project, annotator: User, trace_id: int) -> Assignment:
    """Load and lock the annotator's assignment on the trace, in one query.

    The row lock orders label writes against a concurrent submit or skip of the same
    assignment. No assignment: 403 when the trace exists in the project, else 404.
    """
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("trace")
        # The hottest query of the tool: skip the trace's text and metadata columns.
        .only("id", "state", "trace_id", "annotator_id", "trace__id", "trace__project_id")
        .filter(trace_id=trace_id, annotator=annotator, trace__project=project)
        .order_by()[:1]
    )
    assignment = next(iter(assignment), None)
    if assignment is None:
        if Trace.objects.filter(pk=trace_id, project=project).exists():
            raise NotAllowed(f"Trace {trace_id} is not assigned to you.", field="trace")
        raise NotFound(f"Project {project.slug} has no trace {trace_id}.", field="trace")
    _require_open(assignment)
    assignment.trace.project = project
    assignment.annotator = annotator
    return assignment


@transaction.atomic
def assignment_labels_set(
    *, project: Project, annotator: User, trace_id: int, labels: list[LabelInput]
) -> list[StepLabel]:
    """Save the annotator's labels of steps of a trace assigned to them; refused once submitted."""
    assignment = _assignment_lock(project=project, annotator=annotator, trace_id=trace_id)
    return step_labels_write(trace=assignment.trace, annotator=annotator, labels=labels)


@transaction.atomic
def assignment_label_delete(
    *, project: Project, annotator: User, trace_id: int, step_index: int
) -> bool:
    """Remove the annotator's label of one step of their trace (undo); refused once submitted."""
    assignment = _assignment_lock(project=project, annotator=annotator, trace_id=trace_id)
    return step_label_delete(trace=assignment.trace, annotator=annotator, step_index=step_index)


def assignment_time_add(*, assignment: Assignment, seconds: float) -> None:
    """Add time the page was visible and in use to the assignment (a heartbeat).

    The page sends the seconds since its previous heartbeat, counted only while the tab is
    visible; each beat is clamped to [0, HEARTBEAT_MAX_SECONDS]. Nothing is added once the
    assignment is closed.
    """
    seconds = max(0.0, min(float(seconds), HEARTBEAT_MAX_SECONDS))
    if seconds == 0:
        return
    Assignment.objects.filter(pk=assignment.pk, state=Assignment.State.IN_PROGRESS).update(
        seconds_spent=F("seconds_spent") + seconds, updated_at=timezone.now()
    )


@transaction.atomic
def assignment_submit(
    *, assignment: Assignment, is_first_error_mode: bool, extra_seconds: float = 0.0
) -> Assignment:
    """Close the assignment after checking its labels are complete; return it.

    Raises SubmissionIncomplete naming the steps (1-based in the message, 0-based in
    `missing_steps` / `missing_rationales`) that still need a label or a rationale. In
    first-error mode, labels made after the first negative step are removed (recorded as
    unlabeled, not guessed). Submitting twice returns the submitted assignment unchanged.
    Time: heartbeats accumulate `seconds_spent`; a client that never sent one gets the
    wall time from `started_at` to now.
    """
    locked = Assignment.objects.select_for_update().select_related("trace").get(pk=assignment.pk)
    if locked.state == Assignment.State.SUBMITTED:
        return locked
    _require_open(locked)
    rows = list(
        StepLabel.objects.filter(trace=locked.trace, annotator=locked.annotator).values_list(
            "step__index", "polarity", "category__is_rationale_required", "rationale"
        )
    )
    marks = {
        index: StepMark(polarity, required, bool(rationale.strip()))
        for index, polarity, required, rationale in rows
    }
    result = completeness_check(
        step_count=locked.trace.step_count, marks=marks, is_first_error_mode=is_first_error_mode
    )
    if not result.is_complete:
        parts = []
        if result.missing_steps:
            parts.append("label steps " + ", ".join(str(i + 1) for i in result.missing_steps))
        if result.missing_rationales:
            parts.append(
                "add a rationale to steps " + ", ".join(str(i + 1) for i in result.missing_rationales)
            )
        raise SubmissionIncomplete(
            "Not complete: " + "; ".join(parts) + ".",
            missing_steps=result.missing_steps,
            missing_rationales=result.missing_rationales,
        )
    if result.first_error_index is not None:
        for index in sorted(i for i in marks if i > result.first_error_index):
            step_label_delete(trace=locked.trace, annotator=locked.annotator, step_index=index)
    now = timezone.now()
    locked.seconds_spent += max(0.0, min(float(extra_seconds), HEARTBEAT_MAX_SECONDS))
    if locked.seconds_spent == 0 and locked.started_at is not None:
        locked.seconds_spent = (now - locked.started_at).total_seconds()
    locked.state = Assignment.State.SUBMITTED
    locked.submitted_at = now
    locked.save(update_fields=["state", "submitted_at", "seconds_spent", "updated_at"])
    return locked


@transaction.atomic
def assignment_skip(*, assignment: Assignment, reason: str, note: str = "") -> Assignment:
    """Give the trace back with a reason; the annotator's labels of it are removed.

    The skipped trace no longer counts toward the project's overlap, so someone else gets
    it, and this annotator never gets it again.
    """
    if reason not in Assignment.SkipReason.values:
        raise DomainError(
            f"Unknown skip reason {reason!r}; use one of {', '.join(Assignment.SkipReason.values)}.",
            field="reason",
        )
    if reason == Assignment.SkipReason.OTHER and not note.strip():
        raise DomainError("Say why when the reason is 'other'.", field="note")
    locked = Assignment.objects.select_for_update().select_related("trace").get(pk=assignment.pk)
    _require_open(locked)
    for index in StepLabel.objects.filter(
        trace=locked.trace, annotator=locked.annotator
    ).values_list("step__index", flat=True):
        step_label_delete(trace=locked.trace, annotator=locked.annotator, step_index=index)
    locked.state = Assignment.State.SKIPPED
    locked.skip_reason = reason
    locked.skip_note = note.strip()
    locked.save(update_fields=["state", "skip_reason", "skip_note", "updated_at"])
    return locked
