"""Taxonomy version reads for leads: the draft, the history, labels in use, mappings."""
from django.db.models import Count, QuerySet

from labeling.models import Category, CategoryMapping, Project, StepLabel, TaxonomyVersion
from labeling.services.taxonomies import DRAFT_NUMBER


def taxonomy_draft_for_project(*, project: Project) -> TaxonomyVersion | None:
    """Return the project's unpublished draft version, or None."""
    return (
        TaxonomyVersion.objects.filter(
            taxonomy__project=project, number=DRAFT_NUMBER, published_at__isnull=True
        )
        .first()
    )


def taxonomy_versions_for_project(*, project: Project) -> QuerySet[TaxonomyVersion]:
    """Return the published versions, newest first, with their category and label counts."""
    return (
        TaxonomyVersion.objects.filter(taxonomy__project=project, published_at__isnull=False)
        .select_related("published_by")
        .annotate(category_count=Count("categories", distinct=True))
        .order_by("-number")
    )


def categories_for_version(*, version: TaxonomyVersion | None) -> list[Category]:
    """Return the categories of a version in position order, parents loaded."""
    if version is None:
        return []
    return list(version.categories.select_related("parent").order_by("position", "id"))


def taxonomy_version_has_labels(*, version: TaxonomyVersion | None) -> bool:
    """Return whether any step label uses a category of this version."""
    if version is None:
        return False
    return StepLabel.objects.filter(category__version=version).exists()


def category_mapping_to_version(*, version: TaxonomyVersion) -> dict[int, int]:
    """Return {old category id: category id in `version`} following every published mapping.

    Mappings chain (v1 -> v2 -> v3), so a label made with v1 is read as its v3 category.
    Categories of `version` itself are not in the dict; unmapped old categories are absent.
    """
    edges: dict[int, dict[int, int]] = {}
    for from_id, to_number, to_id in CategoryMapping.objects.filter(
        to_version__taxonomy_id=version.taxonomy_id
    ).values_list("from_category_id", "to_version__number", "to_category_id"):
        edges.setdefault(to_number, {})[from_id] = to_id
    if not edges:
        return {}
    result: dict[int, int] = {}
    for number in sorted(n for n in edges if n <= version.number):
        step = edges[number]
        result = {old: step.get(mid, mid) for old, mid in result.items()}
        for old, new in step.items():
            result.setdefault(old, new)
    current = set(version.categories.values_list("id", flat=True))
    return {old: new for old, new in result.items() if new in current}
