"""An assignment's life: labelling within it, time spent, submit and skip."""
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from labeling.completeness import StepMark, completeness_check
from labeling.errors import Conflict, DomainError, NotAllowed, NotFound, SubmissionIncomplete
from labeling.models import Assignment, Project, StepLabel, Trace, User
from labeling.pg import pg_fetch
from labeling.services.labels import (
    LabelInput,
    step_label_delete,
    step_labels_delete,
    step_labels_write,
)

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
        step_labels_delete(
            trace=locked.trace, annotator=locked.annotator,
            step_indexes=[i for i in marks if i > result.first_error_index],
        )
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
    step_labels_delete(trace=locked.trace, annotator=locked.annotator)
    locked.state = Assignment.State.SKIPPED
    locked.skip_reason = reason
    locked.skip_note = note.strip()
    locked.save(update_fields=["state", "skip_reason", "skip_note", "updated_at"])
    return locked


@dataclass(frozen=True)
class SavedLabel:
    """A label as saved, for the response: what the annotator sent plus the stored time."""

    step_index: int
    category_key: str
    polarity: int
    rationale: str
    is_unsure: bool
    updated_at: datetime


# PostgreSQL: the whole label save in one statement (one round trip, its own transaction in
# autocommit). It checks the caller's role through the membership joined to the project named
# by the slug, locks the open assignment (ordering the write against submit and skip, which
# lock it too), resolves steps and categories, upserts with ON CONFLICT (step, annotator)
# DO UPDATE only when a value differs, and writes one history row per created or changed label
# from the upsert's RETURNING. All or nothing: unless every item resolves, nothing is written.
_UPSERT_SQL = """
WITH m AS (
    SELECT p.id AS project_id, p.taxonomy_version_id AS version_id
    FROM labeling_membership m JOIN labeling_project p ON p.id = m.project_id
    WHERE p.slug = %(slug)s AND m.user_id = %(user)s AND m.role IN ('annotator', 'lead')
),
a AS (
    SELECT a.id, a.state
    FROM labeling_assignment a JOIN labeling_trace t ON t.id = a.trace_id
    WHERE a.trace_id = %(trace)s AND a.annotator_id = %(user)s
      AND t.project_id = (SELECT project_id FROM m)
    FOR UPDATE OF a
),
items AS (
    SELECT * FROM unnest(%(indexes)s::int[], %(keys)s::text[], %(rationales)s::text[],
                         %(unsure)s::bool[]) AS i(step_index, category_key, rationale, is_unsure)
),
resolved AS MATERIALIZED (
    SELECT i.step_index, s.id AS step_id, c.id AS category_id, c.key, c.polarity,
           i.rationale, i.is_unsure
    FROM items i
    JOIN labeling_step s ON s.trace_id = %(trace)s AND s.index = i.step_index
    JOIN labeling_category c ON c.version_id = (SELECT version_id FROM m) AND c.key = i.category_key
    WHERE (SELECT state FROM a) NOT IN ('submitted', 'skipped')
),
up AS (
    INSERT INTO labeling_steplabel AS l
        (step_id, trace_id, annotator_id, category_id, polarity, rationale, is_unsure,
         created_at, updated_at)
    SELECT step_id, %(trace)s::bigint, %(user)s::bigint, category_id, polarity, rationale,
           is_unsure, %(now)s::timestamptz, %(now)s::timestamptz
    FROM resolved
    WHERE (SELECT count(*) FROM resolved) = %(n)s::bigint
    ON CONFLICT (step_id, annotator_id) DO UPDATE SET
        category_id = EXCLUDED.category_id, polarity = EXCLUDED.polarity,
        rationale = EXCLUDED.rationale, is_unsure = EXCLUDED.is_unsure,
        updated_at = EXCLUDED.updated_at, revision = l.revision + 1
    WHERE (l.category_id, l.rationale, l.is_unsure)
          IS DISTINCT FROM (EXCLUDED.category_id, EXCLUDED.rationale, EXCLUDED.is_unsure)
    RETURNING l.step_id, l.category_id, l.polarity, l.rationale, l.is_unsure, l.updated_at,
              (l.xmax = 0) AS inserted
),
history AS (
    INSERT INTO labeling_steplabelchange
        (step_id, annotator_id, action, category_id, polarity, rationale, is_unsure, changed_at)
    SELECT step_id, %(user)s::bigint, CASE WHEN inserted THEN 'created' ELSE 'updated' END,
           category_id, polarity, rationale, is_unsure, %(now)s::timestamptz
    FROM up
)
SELECT r.step_index, r.key, r.polarity, r.rationale, r.is_unsure,
       COALESCE(up.updated_at, old.updated_at, %(now)s::timestamptz)
FROM resolved r
LEFT JOIN up ON up.step_id = r.step_id
LEFT JOIN labeling_steplabel old ON old.step_id = r.step_id AND old.annotator_id = %(user)s
"""


def assignment_labels_upsert_pg(
    *, project_slug: str, annotator: User, trace_id: int, labels: list[LabelInput]
) -> list[SavedLabel] | None:
    """Save labels like assignment_labels_set, in one PostgreSQL statement; None if refused.

    Same guarantees: the caller must be an annotator or lead of the project and hold an open
    assignment on the trace; every step and category must exist; a repeated save changes
    nothing; each created or changed label gets its StepLabelChange row; a concurrent save
    of the same step never fails (ON CONFLICT) nor loses a change (the assignment row lock
    orders them). Returns None, having written nothing, when any check fails: the caller then
    runs the ORM path (role check, then assignment_labels_set), which names the error.
    Step indexes must be unique (the API refuses duplicates before calling this).
    """
    if not labels:
        return None
    indexes = [x.step_index for x in labels]
    if len(set(indexes)) != len(indexes):
        raise DomainError("Each step may appear once in a save.", field="step_index")
    params = {
        "slug": project_slug,
        "user": annotator.pk,
        "trace": trace_id,
        "indexes": indexes,
        "keys": [x.category_key for x in labels],
        "rationales": [x.rationale for x in labels],
        "unsure": [x.is_unsure for x in labels],
        "now": timezone.now(),
        "n": len(labels),
    }
    rows = pg_fetch(_UPSERT_SQL, params, prepare=True)
    if len(rows) != len(labels):
        return None
    by_index = {row[0]: SavedLabel(*row) for row in rows}
    return [by_index[i] for i in indexes]
