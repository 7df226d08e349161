"""The annotator's queue: hand out the next trace, never past the project's overlap.

QC traces (Trace.is_qc, gold on every step) are mixed in at the project's qc_rate: each
hand-out draws from a generator seeded by (queue seed, annotator, hand-out number), so the
sequence is reproducible. A QC trace may go to every annotator (overlap does not apply), never
twice to one; nothing in the assignment tells the annotator it is one.
"""
import random

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


def _is_qc_turn(*, project: Project, annotator: User) -> bool:
    """Return whether this hand-out should be a QC trace, seeded per annotator and count."""
    if project.qc_rate <= 0:
        return False
    handed_out = Assignment.objects.filter(annotator=annotator, trace__project=project).count()
    draw = random.Random(f"qc:{project.queue_seed}:{annotator.pk}:{handed_out}").random()
    return draw < project.qc_rate


def _qc_trace_for(*, project: Project, annotator: User) -> Trace | None:
    """Return a QC trace the annotator never had, in an order of their own, locked."""
    multiplier = pow(_BASE, (project.queue_seed + annotator.pk) % (_PRIME - 1) + 1, _PRIME)
    return (
        Trace.objects.filter(project=project, is_qc=True)
        .exclude(pk__in=Assignment.objects.filter(annotator=annotator).values("trace_id"))
        .annotate(shuffle=Mod(F("id") * Value(multiplier), Value(_PRIME)))
        .order_by("shuffle", "id")
        .select_for_update(of=("self",))
        .first()
    )


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
    if _is_qc_turn(project=project, annotator=annotator):
        qc_trace = _qc_trace_for(project=project, annotator=annotator)
        if qc_trace is not None:
            return Assignment.objects.create(
                trace=qc_trace,
                annotator=annotator,
                state=Assignment.State.IN_PROGRESS,
                started_at=timezone.now(),
            )
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
