"""Taxonomy validation, drafts and publishing with a mapping of old categories."""
import pytest

from labeling.errors import NotFound, TaxonomyInvalid
from labeling.models import CategoryMapping, Project, StepLabel, TaxonomyVersion
from labeling.selectors.taxonomy_versions import category_mapping_to_version, taxonomy_draft_for_project
from labeling.services.labels import LabelInput, step_labels_set
from labeling.services.taxonomies import (
    DEFAULT_CATEGORIES,
    taxonomy_categories_validate,
    taxonomy_draft_publish,
    taxonomy_draft_save,
    taxonomy_publish,
    taxonomy_version_publish_new,
)
from tests.labeling.factories import TraceFactory

pytestmark = pytest.mark.django_db


def cat(key, polarity=1, hotkey="", parent=None, **extra):
    return {"key": key, "name": key.title(), "polarity": polarity, "hotkey": hotkey,
            "parent": parent, **extra}


def errors_of(categories):
    with pytest.raises(TaxonomyInvalid) as info:
        taxonomy_categories_validate(categories=categories)
    return [(e["index"], e["field"]) for e in info.value.details["errors"]]


def test_duplicate_keys_are_refused_naming_the_second():
    assert errors_of([cat("good"), cat("good")]) == [(1, "key")]


def test_hotkey_clash_is_refused_ignoring_case():
    assert errors_of([cat("a", hotkey="x"), cat("b", hotkey="X")]) == [(1, "hotkey")]


@pytest.mark.parametrize("key", ["j", "k", "f", "r", "u", "?", "J"])
def test_workspace_keys_cannot_be_hotkeys(key):
    assert errors_of([cat("a", hotkey=key)]) == [(0, "hotkey")]


def test_parent_must_come_earlier():
    assert errors_of([cat("child", -1, parent="bad"), cat("bad", -1)]) == [(0, "parent")]


def test_child_takes_its_parents_polarity():
    assert errors_of([cat("bad", -1), cat("calc", 1, parent="bad")]) == [(1, "polarity")]


def test_every_problem_is_listed_at_once():
    found = errors_of([cat("Bad Key"), cat("ok", polarity=5, colour="red")])
    assert found == [(0, "key"), (1, "polarity"), (1, "colour")]


def test_default_taxonomy_is_valid():
    assert [c["key"] for c in taxonomy_categories_validate(categories=DEFAULT_CATEGORIES)] == [
        "positive", "neutral", "negative",
    ]


def test_draft_is_saved_unpublished_and_not_used_by_annotators(project):
    current = project.taxonomy_version
    taxonomy_draft_save(project=project, categories=[cat("good", hotkey="1"), cat("bad", -1)])
    draft = taxonomy_draft_for_project(project=project)
    assert draft is not None and draft.published_at is None
    assert [c.key for c in draft.categories.order_by("position")] == ["good", "bad"]
    project.refresh_from_db()
    assert project.taxonomy_version == current


def test_saving_again_replaces_the_draft(project):
    taxonomy_draft_save(project=project, categories=[cat("a"), cat("b", parent="a")])
    taxonomy_draft_save(project=project, categories=[cat("c")])
    assert TaxonomyVersion.objects.filter(published_at__isnull=True).count() == 1
    assert [c.key for c in taxonomy_draft_for_project(project=project).categories.all()] == ["c"]


def test_invalid_draft_stores_nothing(project):
    with pytest.raises(TaxonomyInvalid):
        taxonomy_draft_save(project=project, categories=[cat("a", hotkey="j")])
    assert taxonomy_draft_for_project(project=project) is None


def test_publishing_without_labels_needs_no_mapping(project, lead):
    version = taxonomy_publish(project=project, published_by=lead, categories=[cat("good")])
    project.refresh_from_db()
    assert (project.taxonomy_version, version.number, version.published_by) == (version, 2, lead)
    assert version.previous.number == 1
    assert taxonomy_draft_for_project(project=project) is None


def test_publishing_a_saved_draft_keeps_its_notes(project, lead):
    taxonomy_draft_save(project=project, categories=[cat("good")], notes="Split out neutral.")
    version = taxonomy_publish(project=project, published_by=lead)
    assert version.notes == "Split out neutral."


def test_publishing_chains_onto_the_version_current_under_the_lock(project, lead):
    """A caller holding a stale project still chains the new version onto the current one."""
    stale = Project.objects.get(pk=project.pk)
    newer = taxonomy_publish(project=project, published_by=lead, categories=[cat("a")])
    latest = taxonomy_publish(project=stale, published_by=lead, categories=[cat("b")])
    assert latest.previous == newer


def test_publishing_without_a_draft_is_refused(project, lead):
    with pytest.raises(NotFound):
        taxonomy_draft_publish(project=project, published_by=lead)


def _label_something(project, annotator):
    trace = TraceFactory(project=project, steps=2)
    step_labels_set(trace=trace, annotator=annotator,
                    labels=[LabelInput(0, "positive"), LabelInput(1, "negative")])


def test_labels_on_the_current_version_make_a_full_mapping_required(project, lead, annotator):
    _label_something(project, annotator)
    new = [cat("ok", 1, "1"), cat("meh", 0, "2"), cat("wrong", -1, "3")]
    with pytest.raises(TaxonomyInvalid) as info:
        taxonomy_publish(project=project, published_by=lead, categories=new,
                         mapping={"positive": "ok"})
    assert {e["field"] for e in info.value.details["errors"]} == {"mapping.neutral", "mapping.negative"}
    project.refresh_from_db()
    assert project.taxonomy_version.number == 1
    assert taxonomy_draft_for_project(project=project) is None


def test_mapping_is_stored_and_old_labels_keep_their_category(project, lead, annotator):
    _label_something(project, annotator)
    old_version = project.taxonomy_version
    new = [cat("ok", 1, "1"), cat("wrong", -1, "3"), cat("calc", -1, "c", parent="wrong")]
    version = taxonomy_publish(
        project=project, published_by=lead, categories=new,
        mapping={"positive": "ok", "neutral": "ok", "negative": "wrong"},
    )
    assert CategoryMapping.objects.filter(to_version=version).count() == 3
    assert set(StepLabel.objects.values_list("category__version", flat=True)) == {old_version.pk}
    mapped = category_mapping_to_version(version=version)
    old = {c.key: c.pk for c in old_version.categories.all()}
    new_ids = {c.key: c.pk for c in version.categories.all()}
    assert mapped == {old["positive"]: new_ids["ok"], old["neutral"]: new_ids["ok"],
                      old["negative"]: new_ids["wrong"]}


def test_mapping_to_an_unknown_category_is_refused(project, lead, annotator):
    _label_something(project, annotator)
    with pytest.raises(TaxonomyInvalid):
        taxonomy_publish(project=project, published_by=lead, categories=[cat("ok")],
                         mapping={"positive": "ok", "neutral": "ok", "negative": "nope"})


def test_mappings_chain_across_versions(project, lead, annotator):
    _label_something(project, annotator)
    v1 = project.taxonomy_version
    taxonomy_version_publish_new(
        project=project, categories=[cat("ok"), cat("wrong", -1)], published_by=lead,
        mapping={"positive": "ok", "neutral": "ok", "negative": "wrong"},
    )
    project = Project.objects.get(pk=project.pk)
    v3 = taxonomy_version_publish_new(
        project=project, categories=[cat("fine"), cat("error", -1)], published_by=lead,
        mapping={"ok": "fine", "wrong": "error"},
    )
    mapped = category_mapping_to_version(version=v3)
    neg = v1.categories.get(key="negative").pk
    assert mapped[neg] == v3.categories.get(key="error").pk


def test_programmatic_publishing_stores_a_mapping_only_when_given(project, lead, annotator):
    _label_something(project, annotator)
    version = taxonomy_version_publish_new(project=project, categories=[cat("ok")])
    assert version.number == 2 and not CategoryMapping.objects.exists()
