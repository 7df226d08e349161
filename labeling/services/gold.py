"""Gold labels: the lead's decision per step, and bulk gold from unanimous steps."""
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from labeling.errors import Conflict, LabelNotInTaxonomy, NotFound
from labeling.models import Category, GoldLabel, Project, Step, Trace, User
from labeling.selectors.adjudication import (
    gold_deleted_key,
    gold_touched_key,
    trace_adjudication_for_lead,
    unanimous_steps_for_project,
)

Method = GoldLabel.Method


# Recent deletions kept for the ranking refresh; older ones were seen by a recount already.
DELETIONS_KEPT = timedelta(hours=1)


def _gold_changed(project_id: int, *, deleted_trace_id: int | None = None) -> None:
    """Tell the cached adjudication ranking that gold changed, now and again on commit
    (a reader between the two could count the uncommitted state)."""
    def bump() -> None:
        if deleted_trace_id is not None:
            # Not atomic: a lost entry under a race is caught by the ranking's TTL.
            now = timezone.now()
            deleted = {
                t: at for t, at in cache.get(gold_deleted_key(project_id), {}).items()
                if at >= now - DELETIONS_KEPT
            }
            deleted[deleted_trace_id] = now
            cache.set(gold_deleted_key(project_id), deleted, timeout=None)
        key = gold_touched_key(project_id)
        cache.add(key, 0, timeout=None)
        cache.incr(key)

    bump()
    transaction.on_commit(bump)


def _current_category(project: Project, key: str) -> Category:
    if project.taxonomy_version_id is None:
        raise LabelNotInTaxonomy("The project has no published taxonomy.", field="category")
    category = Category.objects.filter(version_id=project.taxonomy_version_id, key=key).first()
    if category is None:
        raise LabelNotInTaxonomy(
            f"Category {key!r} is not in the project's current taxonomy.", field="category"
        )
    return category


@transaction.atomic
def gold_label_set(
    *,
    project: Project,
    trace: Trace,
    step_index: int,
    category_key: str,
    decided_by: User,
    method: str = Method.LEAD,
    note: str = "",
) -> GoldLabel:
    """Set the gold label of one step, recording who decided, when and how.

    `method` is "lead" (the lead's own decision) or "majority" (the lead accepts the strict
    majority of the human labels, which must then be `category_key`).
    """
    if method not in (Method.LEAD, Method.MAJORITY):
        raise Conflict(f"Gold set by hand is a lead or majority decision, not {method!r}.",
                       field="method")
    step = Step.objects.filter(trace=trace, index=step_index).first()
    if step is None:
        raise NotFound(f"Trace {trace.pk} has no step {step_index}.", field="step_index")
    category = _current_category(project, category_key)
    if method == Method.MAJORITY:
        view = trace_adjudication_for_lead(
            project=project, trace_id=trace.pk, with_neighbours=False
        )
        row = next(r for r in view.rows if r.step.pk == step.pk)
        majority = row.majority
        if majority is None or majority.pk != category.pk:
            raise Conflict(
                f"{category_key!r} is not the majority label of step {step_index}.",
                field="category",
            )
    gold, _ = GoldLabel.objects.update_or_create(
        step=step,
        defaults={
            "trace": trace, "category": category, "polarity": category.polarity,
            "method": method, "decided_by": decided_by, "note": note,
            "decided_at": timezone.now(),
        },
    )
    _gold_changed(project.pk)
    return gold


@transaction.atomic
def gold_label_delete(*, trace: Trace, step_index: int) -> None:
    """Remove the gold label of one step (the step goes back to the open disputes)."""
    GoldLabel.objects.filter(trace=trace, step__index=step_index).delete()
    _gold_changed(trace.project_id, deleted_trace_id=trace.pk)


@transaction.atomic
def gold_labels_from_unanimous(*, project: Project, decided_by: User) -> int:
    """Make gold of every step two or more humans labelled alike and that has no gold yet.

    Returns how many gold labels were created, each with method "unanimous" and the lead.
    """
    rows = unanimous_steps_for_project(project=project)
    if not rows:
        return 0
    # Only categories of the current version become gold; an unmapped old one cannot.
    polarity = dict(
        Category.objects.filter(
            pk__in={c for _, _, c in rows}, version_id=project.taxonomy_version_id
        ).values_list("id", "polarity")
    )
    golds = [
        GoldLabel(
            step_id=step_id, trace_id=trace_id, category_id=category_id,
            polarity=polarity[category_id], method=Method.UNANIMOUS, decided_by=decided_by,
        )
        for step_id, trace_id, category_id in rows
        if category_id in polarity
    ]
    # A lead deciding one of these steps meanwhile wins: their row is kept, ours skipped.
    GoldLabel.objects.bulk_create(golds, ignore_conflicts=True, batch_size=2000)
    _gold_changed(project.pk)
    return len(golds)
