"""Taxonomy writes: the default taxonomy, validation, drafts and publishing with a mapping."""
import re
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from labeling.errors import Conflict, NotFound, TaxonomyInvalid
from labeling.models import (
    Category,
    CategoryMapping,
    Polarity,
    Project,
    StepLabel,
    Taxonomy,
    TaxonomyVersion,
    User,
)

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


# Keys the annotator workspace already binds (next/previous step, flag, rationale, unsure,
# help); arrows are multi-character key names and so can never be a one-character hotkey.
RESERVED_HOTKEYS = frozenset({"j", "k", "f", "r", "u", "?"})

# An unpublished draft carries number 0 until it is published and numbered.
DRAFT_NUMBER = 0

_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
_COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
_FIELDS = ("key", "name", "description", "polarity", "hotkey", "colour", "parent",
           "is_rationale_required")


def taxonomy_categories_validate(*, categories: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the categories normalised, or raise TaxonomyInvalid listing every problem.

    Each error names the category's index and field: keys are unique slugs, hotkeys are
    single characters, unique (ignoring case) and not reserved by the workspace, a parent
    is an earlier category and a child has its parent's polarity.
    """
    errors: list[dict[str, Any]] = []

    def fail(index: int, field: str, message: str) -> None:
        errors.append({"index": index, "field": field, "message": message})

    if not categories:
        raise TaxonomyInvalid(
            "A taxonomy needs at least one category.",
            errors=[{"index": None, "field": "categories", "message": "No categories."}],
        )
    cleaned: list[dict[str, Any]] = []
    seen_keys: dict[str, int] = {}
    seen_hotkeys: dict[str, int] = {}
    for index, spec in enumerate(categories):
        key = str(spec.get("key") or "").strip()
        name = str(spec.get("name") or "").strip()
        hotkey = str(spec.get("hotkey") or "").strip()
        colour = str(spec.get("colour") or "#888888").strip()
        parent = str(spec.get("parent") or "").strip() or None
        polarity = spec.get("polarity")
        if not _KEY_RE.match(key):
            fail(index, "key", "Use 1-50 lower-case letters, digits, '-' or '_'.")
        elif key in seen_keys:
            fail(index, "key", f"Key {key!r} is already used by category {seen_keys[key] + 1}.")
        else:
            seen_keys[key] = index
        if not name:
            fail(index, "name", "A name is required.")
        elif len(name) > 100:
            fail(index, "name", "At most 100 characters.")
        if polarity not in (Polarity.NEGATIVE, Polarity.NEUTRAL, Polarity.POSITIVE):
            fail(index, "polarity", "Polarity must be -1, 0 or 1.")
        if hotkey:
            folded = hotkey.lower()
            if len(hotkey) != 1 or hotkey.isspace():
                fail(index, "hotkey", "A hotkey is one character.")
            elif folded in RESERVED_HOTKEYS:
                fail(index, "hotkey", f"{hotkey!r} is reserved by the workspace (j k f r u ?).")
            elif folded in seen_hotkeys:
                fail(
                    index, "hotkey",
                    f"Hotkey {hotkey!r} clashes with category {seen_hotkeys[folded] + 1}.",
                )
            else:
                seen_hotkeys[folded] = index
        if not _COLOUR_RE.match(colour):
            fail(index, "colour", "Use a colour like #1a7f37.")
        if parent is not None:
            parent_index = seen_keys.get(parent)
            if parent_index is None or parent_index >= index:
                fail(index, "parent", f"Parent {parent!r} must be an earlier category.")
            elif polarity != cleaned[parent_index]["polarity"]:
                fail(index, "polarity", f"A child has its parent's polarity ({parent!r}).")
        cleaned.append({
            "key": key, "name": name, "description": str(spec.get("description") or ""),
            "polarity": polarity, "hotkey": hotkey, "colour": colour.lower(), "parent": parent,
            "is_rationale_required": bool(spec.get("is_rationale_required", False)),
        })
    if errors:
        first = errors[0]
        where = f"category {first['index'] + 1}" if first["index"] is not None else "taxonomy"
        raise TaxonomyInvalid(
            f"{len(errors)} problem(s) in the taxonomy; first: {where}, "
            f"{first['field']}: {first['message']}",
            errors=errors,
        )
    return cleaned


def _categories_create(*, version: TaxonomyVersion, categories: list[dict[str, Any]]) -> None:
    by_key: dict[str, Category] = {}
    for position, spec in enumerate(categories):
        fields = {k: v for k, v in spec.items() if k in _FIELDS and k != "parent"}
        parent_key = spec.get("parent")
        by_key[spec["key"]] = Category.objects.create(
            version=version,
            parent=by_key[parent_key] if parent_key else None,
            position=position,
            **fields,
        )


def _project_lock(project: Project) -> None:
    """Serialise publishing per project, and re-read the current version under the lock.

    Without the re-read, a lead whose page loaded before a colleague's publish would chain
    (and map) the new version onto the one that is no longer current.
    """
    locked = (
        Project.objects.select_for_update(of=("self",))
        .select_related("taxonomy_version")
        .get(pk=project.pk)
    )
    project.taxonomy_version = locked.taxonomy_version


def _taxonomy_for_project(project: Project) -> Taxonomy:
    taxonomy = Taxonomy.objects.filter(project=project).order_by("id").first()
    if taxonomy is None:
        taxonomy = Taxonomy.objects.create(project=project)
    return taxonomy


def _next_number(taxonomy: Taxonomy) -> int:
    highest = taxonomy.versions.aggregate(n=Max("number"))["n"] or 0
    return highest + 1


def _mapping_create(
    *,
    previous: TaxonomyVersion | None,
    version: TaxonomyVersion,
    mapping: dict[str, str] | None,
    is_required: bool,
) -> None:
    """Store the old -> new category mapping; with `is_required`, every old category must be
    mapped when the old version has labels."""
    if previous is None:
        return
    mapping = mapping or {}
    old = {c.key: c for c in previous.categories.all()}
    new = {c.key: c for c in version.categories.all()}
    has_labels = is_required and StepLabel.objects.filter(category__version=previous).exists()
    errors = []
    for old_key, new_key in mapping.items():
        if old_key not in old:
            errors.append({"field": f"mapping.{old_key}",
                           "message": f"{old_key!r} is not a category of v{previous.number}."})
        elif new_key not in new:
            errors.append({"field": f"mapping.{old_key}",
                           "message": f"{new_key!r} is not a category of the new version."})
    if has_labels:
        for old_key in old:
            if old_key not in mapping:
                errors.append({"field": f"mapping.{old_key}",
                               "message": f"v{previous.number} has labels: map {old_key!r} "
                                          "to a new category."})
    if errors:
        raise TaxonomyInvalid(
            f"Mapping incomplete or wrong: {errors[0]['message']}", errors=errors
        )
    CategoryMapping.objects.bulk_create(
        CategoryMapping(from_category=old[o], to_version=version, to_category=new[n])
        for o, n in mapping.items()
    )


def _publish(
    *,
    project: Project,
    version: TaxonomyVersion,
    published_by: User | None,
    mapping: dict[str, str] | None,
    is_mapping_required: bool,
) -> TaxonomyVersion:
    previous = project.taxonomy_version
    if version.number == DRAFT_NUMBER:
        version.number = _next_number(version.taxonomy)
    version.previous = previous
    version.published_at = timezone.now()
    version.published_by = published_by
    version.save(update_fields=["number", "previous", "published_at", "published_by"])
    _mapping_create(
        previous=previous, version=version, mapping=mapping, is_required=is_mapping_required
    )
    project.taxonomy_version = version
    project.save(update_fields=["taxonomy_version", "updated_at"])
    return version


@transaction.atomic
def taxonomy_version_publish_new(
    *,
    project: Project,
    categories: list[dict],
    published_by: User | None = None,
    notes: str = "",
    mapping: dict[str, str] | None = None,
) -> TaxonomyVersion:
    """Create and publish a taxonomy version from category dicts, and make it the project's.

    A category dict holds the Category fields; `parent` may name the key of an earlier category.
    `mapping` ({old key: new key}) is stored when given but not required: this is the
    programmatic path (default taxonomy, demo, scripts); leads publish through
    `taxonomy_publish`, which requires a full mapping once the current version has labels.
    """
    cleaned = taxonomy_categories_validate(categories=categories)
    _project_lock(project)
    taxonomy = _taxonomy_for_project(project)
    version = TaxonomyVersion.objects.create(
        taxonomy=taxonomy, number=_next_number(taxonomy), notes=notes
    )
    _categories_create(version=version, categories=cleaned)
    return _publish(
        project=project, version=version, published_by=published_by, mapping=mapping,
        is_mapping_required=False,
    )


@transaction.atomic
def taxonomy_draft_save(
    *, project: Project, categories: list[dict[str, Any]], notes: str = ""
) -> TaxonomyVersion:
    """Validate the categories and store them as the project's one unpublished draft."""
    cleaned = taxonomy_categories_validate(categories=categories)
    taxonomy = _taxonomy_for_project(project)
    draft, _ = TaxonomyVersion.objects.select_for_update().get_or_create(
        taxonomy=taxonomy, number=DRAFT_NUMBER, published_at=None, defaults={"notes": notes}
    )
    if draft.notes != notes:
        draft.notes = notes
        draft.save(update_fields=["notes"])
    # Children first: a parent cannot be deleted while a child points at it.
    draft.categories.filter(parent__isnull=False).delete()
    draft.categories.all().delete()
    _categories_create(version=draft, categories=cleaned)
    return draft


@transaction.atomic
def taxonomy_draft_discard(*, project: Project) -> None:
    """Delete the project's unpublished draft, if any."""
    for draft in TaxonomyVersion.objects.filter(
        taxonomy__project=project, number=DRAFT_NUMBER, published_at__isnull=True
    ):
        draft.categories.filter(parent__isnull=False).delete()
        draft.delete()


@transaction.atomic
def taxonomy_draft_publish(
    *,
    project: Project,
    published_by: User,
    mapping: dict[str, str] | None = None,
    notes: str | None = None,
) -> TaxonomyVersion:
    """Publish the draft as the next immutable version, storing the old -> new mapping.

    When the current version has labels, `mapping` must map each of its keys to a new key.
    """
    _project_lock(project)
    draft = (
        TaxonomyVersion.objects.select_for_update()
        .filter(taxonomy__project=project, number=DRAFT_NUMBER, published_at__isnull=True)
        .first()
    )
    if draft is None:
        raise NotFound("There is no draft to publish: save one first.", field="draft")
    if not draft.categories.exists():
        raise Conflict("The draft has no categories.", field="categories")
    if notes is not None:
        draft.notes = notes
        draft.save(update_fields=["notes"])
    return _publish(
        project=project, version=draft, published_by=published_by, mapping=mapping,
        is_mapping_required=True,
    )


@transaction.atomic
def taxonomy_publish(
    *,
    project: Project,
    published_by: User,
    categories: list[dict[str, Any]] | None = None,
    mapping: dict[str, str] | None = None,
    notes: str | None = None,
) -> TaxonomyVersion:
    """Save `categories` as the draft when given, then publish the draft; all or nothing.

    `notes=None` keeps the draft's stored notes.
    """
    if categories is not None:
        taxonomy_draft_save(project=project, categories=categories, notes=notes or "")
    return taxonomy_draft_publish(
        project=project, published_by=published_by, mapping=mapping, notes=notes
    )


def taxonomy_default_create(*, project: Project, published_by: User | None = None) -> TaxonomyVersion:
    """Publish the default positive / neutral / negative taxonomy (hotkeys 1/2/3)."""
    return taxonomy_version_publish_new(
        project=project, categories=DEFAULT_CATEGORIES, published_by=published_by,
        notes="Default taxonomy.",
    )
