"""Taxonomy writes: the default taxonomy, drafts and publishing."""

from django.db import transaction
from django.utils import timezone

from labeling.models import Category, Polarity, Project, Taxonomy, TaxonomyVersion, User

# The three polarities every taxonomy starts from; keys are used by importers for source labels.
DEFAULT_CATEGORIES: list[dict] = [
    {
        "key": "positive",
        "name": "Correct, makes progress",
        "description": "Nothing stated is wrong and the step moves the solution forward.",
        "polarity": Polarity.POSITIVE,
        "hotkey": "1",
        "colour": "#1a7f37",
    },
    {
        "key": "neutral",
        "name": "Correct, no progress",
        "description": "Reasonable and correct, but restates, stalls or adds nothing.",
        "polarity": Polarity.NEUTRAL,
        "hotkey": "2",
        "colour": "#9a6700",
    },
    {
        "key": "negative",
        "name": "Wrong",
        "description": "Anything incorrect, unverifiable, off-topic or a dead end.",
        "polarity": Polarity.NEGATIVE,
        "hotkey": "3",
        "colour": "#cf222e",
    },
]


@transaction.atomic
def taxonomy_version_publish_new(
    *,
    project: Project,
    categories: list[dict],
    published_by: User | None = None,
    notes: str = "",
) -> TaxonomyVersion:
    """Create and publish a taxonomy version from category dicts, and make it the project's.

    A category dict holds the Category fields; `parent` may name the key of an earlier category.
    """
    taxonomy = Taxonomy.objects.filter(project=project).order_by("id").first()
    if taxonomy is None:
        taxonomy = Taxonomy.objects.create(project=project)
    previous = taxonomy.versions.order_by("-number").first()
    version = TaxonomyVersion.objects.create(
        taxonomy=taxonomy,
        number=(previous.number + 1) if previous else 1,
        previous=previous,
        published_at=timezone.now(),
        published_by=published_by,
        notes=notes,
    )
    by_key: dict[str, Category] = {}
    for position, spec in enumerate(categories):
        fields = {k: v for k, v in spec.items() if k != "parent"}
        parent_key = spec.get("parent")
        by_key[spec["key"]] = Category.objects.create(
            version=version,
            parent=by_key[parent_key] if parent_key else None,
            position=spec.get("position", position),
            **{k: v for k, v in fields.items() if k != "position"},
        )
    project.taxonomy_version = version
    project.save(update_fields=["taxonomy_version", "updated_at"])
    return version


def taxonomy_default_create(
    *, project: Project, published_by: User | None = None
) -> TaxonomyVersion:
    """Publish the default positive / neutral / negative taxonomy (hotkeys 1/2/3)."""
    return taxonomy_version_publish_new(
        project=project,
        categories=DEFAULT_CATEGORIES,
        published_by=published_by,
        notes="Default taxonomy.",
    )
