"""Step-label writes: upsert one or many labels of one annotator, keeping every change."""
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from labeling.errors import LabelNotInTaxonomy, NotFound
from labeling.models import Category, Step, StepLabel, StepLabelChange, Trace, User
from labeling.selectors.taxonomies import categories_by_key


@dataclass(frozen=True)
class LabelInput:
    step_index: int
    category_key: str
    rationale: str = ""
    is_unsure: bool = False


def _categories_by_key(trace: Trace) -> dict[str, Category]:
    return categories_by_key(version=trace.project.taxonomy_version)


@transaction.atomic
def step_labels_set(
    *, trace: Trace, annotator: User, labels: list[LabelInput]
) -> list[StepLabel]:
    """Upsert the annotator's labels for steps of one trace; a repeated call changes nothing.

    Existing rows are locked first, so two saves of the same step serialise instead of
    losing one; a history row is written only when a value actually changes.
    """
    return step_labels_write(trace=trace, annotator=annotator, labels=labels)


def step_labels_write(
    *, trace: Trace, annotator: User, labels: list[LabelInput]
) -> list[StepLabel]:
    """Do step_labels_set's work inside the caller's transaction (no savepoint of its own).

    For services that already opened a transaction and hold a lock that orders the
    writes (the assignment row): it spares the hottest write path two round trips.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("step_labels_write must run inside transaction.atomic")
    categories = _categories_by_key(trace)
    # order_by(): Step's default ordering would join trace and project for nothing.
    steps = {
        s.index: s
        for s in Step.objects.filter(trace=trace, index__in=[x.step_index for x in labels])
        .order_by()
        .only("id", "index")
    }
    for item in labels:
        if item.step_index not in steps:
            raise NotFound(f"Trace {trace.pk} has no step {item.step_index}.", field="step_index")
        if item.category_key not in categories:
            raise LabelNotInTaxonomy(
                f"Category {item.category_key!r} is not in the project's taxonomy.",
                field="category",
            )
    existing = {
        label.step_id: label
        for label in StepLabel.objects.select_for_update().filter(
            annotator=annotator, step_id__in=[s.pk for s in steps.values()]
        )
    }
    now = timezone.now()
    saved: list[StepLabel] = []
    new: list[StepLabel] = []
    changed: list[StepLabel] = []
    changes: list[StepLabelChange] = []
    for item in labels:
        step = steps[item.step_index]
        category = categories[item.category_key]
        values = {
            "category": category,
            "polarity": category.polarity,
            "rationale": item.rationale,
            "is_unsure": item.is_unsure,
        }
        label = existing.get(step.pk)
        if label is None:
            label = StepLabel(step=step, trace=trace, annotator=annotator, created_at=now, updated_at=now, **values)
            new.append(label)
            changes.append(StepLabelChange(step=step, annotator=annotator, action="created", **values))
        elif (label.category_id, label.rationale, label.is_unsure) != (
            category.pk, item.rationale, item.is_unsure
        ):
            for field, value in values.items():
                setattr(label, field, value)
            label.updated_at = now
            label.revision = F("revision") + 1
            changed.append(label)
            changes.append(StepLabelChange(step=step, annotator=annotator, action="updated", **values))
        label.category = category  # already loaded: callers render it without a query
        saved.append(label)
    if new:
        # ON CONFLICT DO UPDATE: a row a concurrent writer inserted after our lock is
        # overwritten rather than failing the save (writers through an assignment never race:
        # the assignment row is locked).
        StepLabel.objects.bulk_create(
            new,
            update_conflicts=True,
            unique_fields=["step", "annotator"],
            update_fields=["category", "polarity", "rationale", "is_unsure", "updated_at"],
        )
    if len(changed) == 1:
        # The common autosave case: a plain UPDATE is far cheaper to build than bulk_update's CASE.
        (label,) = changed
        StepLabel.objects.filter(pk=label.pk).update(
            category=label.category, polarity=label.polarity, rationale=label.rationale,
            is_unsure=label.is_unsure, updated_at=now, revision=label.revision,
        )
    elif changed:
        StepLabel.objects.bulk_update(
            changed,
            fields=["category", "polarity", "rationale", "is_unsure", "updated_at", "revision"],
        )
    StepLabelChange.objects.bulk_create(changes)
    return saved


@transaction.atomic
def step_label_delete(*, trace: Trace, annotator: User, step_index: int) -> bool:
    """Remove the annotator's label of one step (undo); return whether one existed."""
    return step_labels_delete(trace=trace, annotator=annotator, step_indexes=[step_index]) == 1


@transaction.atomic
def step_labels_delete(
    *, trace: Trace, annotator: User, step_indexes: list[int] | None = None
) -> int:
    """Remove the annotator's labels of these steps (all steps when None), keeping history.

    Three queries whatever the number of labels: lock, history rows, delete.
    """
    labels = StepLabel.objects.select_for_update().filter(trace=trace, annotator=annotator)
    if step_indexes is not None:
        labels = labels.filter(step__index__in=step_indexes)
    rows = list(labels.values("id", "step_id", "category_id", "polarity", "rationale", "is_unsure"))
    if not rows:
        return 0
    StepLabelChange.objects.bulk_create(
        StepLabelChange(
            step_id=row["step_id"], annotator=annotator, action="deleted",
            category_id=row["category_id"], polarity=row["polarity"],
            rationale=row["rationale"], is_unsure=row["is_unsure"],
        )
        for row in rows
    )
    StepLabel.objects.filter(pk__in=[row["id"] for row in rows]).delete()
    return len(rows)
