"""Taxonomy reads: a version's categories, from memory once published (they never change)."""
from datetime import datetime

from labeling.errors import LabelNotInTaxonomy
from labeling.models import Category, TaxonomyVersion

# Categories of published taxonomy versions, which never change once published. Keyed by
# (version id, published_at) so a reused id (test databases roll back) never hits a stale entry.
_PUBLISHED_CATEGORIES: dict[tuple[int, datetime], dict[str, Category]] = {}


def categories_by_key(*, version: TaxonomyVersion | None) -> dict[str, Category]:
    """Return the version's categories by key, from memory for published versions."""
    if version is None:
        raise LabelNotInTaxonomy("The project has no published taxonomy.")
    if version.published_at is None:
        return {c.key: c for c in version.categories.all()}
    cache_key = (version.pk, version.published_at)
    categories = _PUBLISHED_CATEGORIES.get(cache_key)
    if categories is None:
        if len(_PUBLISHED_CATEGORIES) > 1000:
            _PUBLISHED_CATEGORIES.clear()
        categories = {c.key: c for c in version.categories.all()}
        _PUBLISHED_CATEGORIES[cache_key] = categories
    return categories


