"""The annotator's queue: hand out the next trace, never past the project's overlap."""
from django.db import transaction
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Mod
from django.utils import timezone

from labeling.models import Assignment, Project, Trace, User
from labeling.selectors.progress import traces_available_to_annotator

# Seeded random order without a random() call: (id * seed-derived multiplier) mod a prime is a
# stable permutation per seed that every database computes the same way (Park-Miller constants).
_PRIME = 2_147_483_647
_BASE = 48_271


def assignment_in_progress_get(*, project: Project, annotator: User) -> Assignment | None:
    """Return the annotator's open assignment in the project, if any."""
    return (
        Assignment.objects.select_related("trace")
        .filter(annotator=annotator, trace__project=project, state=Assignment.State.IN_PROGRESS)
        .order_by("started_at", "id")
        .first()
    )


def _candidates_in_order(*, project: Project, annotator: User) -> QuerySet[Trace]:
    """The traces the annotator may get next, in the project's queue order."""
    queryset = traces_available_to_annotator(project=project, annotator=annotator)
    order = project.queue_order
    if order == Project.QueueOrder.RANDOM:
        multiplier = pow(_BASE, project.queue_seed % (_PRIME - 1) + 1, _PRIME)
        queryset = queryset.annotate(shuffle=Mod(F("id") * Value(multiplier), Value(_PRIME)))
        return queryset.order_by("shuffle", "id")
    if order == Project.QueueOrder.FEWEST_LABELS:
        return queryset.order_by("taken", "id")
    return queryset.order_by("id")


@transaction.atomic
def assignment_next_for_annotator(*, project: Project, annotator: User) -> Assignment | None:
    """Return the annotator's in-progress assignment, else start one on the next eligible trace.

    Concurrency: the candidate trace row is locked with SELECT ... FOR UPDATE SKIP LOCKED
    (PostgreSQL; a no-op on SQLite, which serialises writers anyway) and its non-skipped
    assignments are counted again under the lock, so simultaneous requests can never push a
    trace past `overlap`; a request that meets a locked trace moves on to the next one
    instead of waiting. The (trace, annotator) unique constraint backs "never twice".
    Return None when nothing is left for this annotator.
    """
    # One hand-out per annotator at a time: a double click must not open two traces.
    User.objects.select_for_update().filter(pk=annotator.pk).values_list("pk").first()
    current = assignment_in_progress_get(project=project, annotator=annotator)
    if current is not None:
        return current
    queued = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("trace")
        .filter(annotator=annotator, trace__project=project, state=Assignment.State.QUEUED)
        .order_by("created_at", "id")
        .first()
    )
    if queued is not None:
        # A trace put in this annotator's queue ahead of time (e.g. by a lead) comes first.
        queued.state = Assignment.State.IN_PROGRESS
        queued.started_at = timezone.now()
        queued.save(update_fields=["state", "started_at", "updated_at"])
        return queued
    tried: list[int] = []
    while True:
        # SKIP LOCKED: a trace another request is handing out right now is passed over, not
        # waited for; it stays eligible for later requests.
        candidates = _candidates_in_order(project=project, annotator=annotator).exclude(pk__in=tried)
        trace = candidates.select_for_update(skip_locked=True, of=("self",)).first()
        if trace is None:
            # Every trace left is being handed out by a peer at this instant: wait for the
            # first one rather than answer "nothing left" while slots may remain. No deadlock:
            # a peer holding a trace lock never waits for anything we hold.
            trace = candidates.select_for_update(of=("self",)).first()
        if trace is None:
            return None
        tried.append(trace.pk)
        # Count again under the lock, in a fresh statement: the candidate query's snapshot
        # may predate a peer's assignment committed just before we took the lock.
        taken = Assignment.objects.filter(trace=trace).exclude(state=Assignment.State.SKIPPED).count()
        if taken < project.overlap:
            return Assignment.objects.create(
                trace=trace,
                annotator=annotator,
                state=Assignment.State.IN_PROGRESS,
                started_at=timezone.now(),
            )
