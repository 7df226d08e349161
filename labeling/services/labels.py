"""Step-label writes: upsert one or many labels of one annotator, keeping every change."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from labeling.errors import LabelNotInTaxonomy, NotFound
from labeling.models import Category, Step, StepLabel, StepLabelChange, Trace, User


@dataclass(frozen=True)
class LabelInput:
    step_index: int
    category_key: str
    rationale: str = ""
    is_unsure: bool = False


def _categories_by_key(trace: Trace) -> dict[str, Category]:
    version = trace.project.taxonomy_version
    if version is None:
        raise LabelNotInTaxonomy("The project has no published taxonomy.")
    return {c.key: c for c in version.categories.all()}


@transaction.atomic
def step_labels_set(*, trace: Trace, annotator: User, labels: list[LabelInput]) -> list[StepLabel]:
    """Upsert the annotator's labels for steps of one trace; a repeated call changes nothing.

    Existing rows are locked first, so two saves of the same step serialise instead of
    losing one; a history row is written only when a value actually changes.
    """
    categories = _categories_by_key(trace)
    steps = {
        s.index: s
        for s in Step.objects.filter(trace=trace, index__in=[x.step_index for x in labels])
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
    saved: list[StepLabel] = []
    changes: list[StepLabelChange] = []
    for item in labels:
        step = steps[item.step_index]
        category = categories[item.category_key]
        label = existing.get(step.pk)
        values = {
            "category": category,
            "polarity": category.polarity,
            "rationale": item.rationale,
            "is_unsure": item.is_unsure,
        }
        if label is None:
            try:
                with transaction.atomic():
                    label = StepLabel.objects.create(
                        step=step, trace=trace, annotator=annotator, **values
                    )
            except IntegrityError:
                # A concurrent request created it between our lock and insert: update theirs.
                label = StepLabel.objects.select_for_update().get(step=step, annotator=annotator)
            else:
                changes.append(
                    StepLabelChange(step=step, annotator=annotator, action="created", **values)
                )
                saved.append(label)
                continue
        if (label.category_id, label.rationale, label.is_unsure) != (
            category.pk,
            item.rationale,
            item.is_unsure,
        ):
            for field, value in values.items():
                setattr(label, field, value)
            label.save(update_fields=[*values, "updated_at"])
            changes.append(
                StepLabelChange(step=step, annotator=annotator, action="updated", **values)
            )
        saved.append(label)
    StepLabelChange.objects.bulk_create(changes)
    return saved


@transaction.atomic
def step_label_delete(*, trace: Trace, annotator: User, step_index: int) -> bool:
    """Remove the annotator's label of one step (undo); return whether one existed."""
    label = (
        StepLabel.objects.select_for_update()
        .filter(trace=trace, annotator=annotator, step__index=step_index)
        .first()
    )
    if label is None:
        return False
    StepLabelChange.objects.create(
        step_id=label.step_id,
        annotator=annotator,
        action="deleted",
        category_id=label.category_id,
        polarity=label.polarity,
        rationale=label.rationale,
        is_unsure=label.is_unsure,
    )
    label.delete()
    return True
