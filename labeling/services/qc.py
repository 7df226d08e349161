"""Quality-control traces: mark a trace with gold labels on every step as QC, or unmark it."""
from django.db import transaction
from django.db.models import F

from labeling.errors import Conflict
from labeling.models import GoldLabel, Project, Trace


@transaction.atomic
def trace_qc_set(*, trace: Trace, is_qc: bool) -> Trace:
    """Mark the trace as a QC trace (mixed into every annotator's queue) or unmark it.

    Marking requires a gold label on every step, whatever its method: the gold labels are
    the answer key that annotators' QC accuracy is measured against.
    """
    trace = Trace.objects.select_for_update().get(pk=trace.pk)
    if is_qc:
        if trace.step_count == 0:
            raise Conflict(f"Trace {trace.pk} has no steps to check.", field="is_qc")
        gold_steps = GoldLabel.objects.filter(trace=trace).count()
        if gold_steps < trace.step_count:
            missing = trace.step_count - gold_steps
            raise Conflict(
                f"Trace {trace.pk} needs a gold label on every step before it can be a QC trace: "
                f"{missing} of {trace.step_count} steps have none.",
                field="is_qc", missing_steps=missing,
            )
    if trace.is_qc != is_qc:
        trace.is_qc = is_qc
        trace.save(update_fields=["is_qc"])
        # Agreement leaves QC traces out: the labels fingerprint reads this counter. F() + 1
        # in the database, so concurrent flag changes each count.
        Project.objects.filter(pk=trace.project_id).update(qc_revision=F("qc_revision") + 1)
    return trace
