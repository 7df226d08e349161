"""Gold labels and the disagreement ranking: lead decisions, majority, bulk unanimous."""
import pytest

from labeling.errors import Conflict, LabelNotInTaxonomy, NotFound
from labeling.models import GoldLabel, Membership
from labeling.selectors.adjudication import (
    disputed_traces_for_project,
    trace_adjudication_for_lead,
    unanimous_steps_for_project,
)
from labeling.services.labels import LabelInput, step_labels_set
from labeling.services.projects import membership_set, source_annotator_get_or_create
from labeling.services.taxonomies import taxonomy_version_publish_new
from tests.labeling.factories import TraceFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_cache")]


@pytest.fixture
def annotators(project):
    users = [UserFactory(username=f"a{i}") for i in range(3)]
    for user in users:
        membership_set(project=project, user=user, role=Membership.Role.ANNOTATOR)
    return users


def label(trace, user, *keys):
    step_labels_set(trace=trace, annotator=user,
                    labels=[LabelInput(i, k) for i, k in enumerate(keys) if k])


def test_traces_are_ranked_by_disputed_steps(project, annotators):
    a, b, c = annotators
    calm = TraceFactory(project=project, steps=2)
    label(calm, a, "positive", "positive")
    label(calm, b, "positive", "positive")
    one = TraceFactory(project=project, steps=3)
    label(one, a, "positive", "neutral", "negative")
    label(one, b, "positive", "negative", "negative")
    two = TraceFactory(project=project, steps=3)
    label(two, a, "positive", "neutral", "negative")
    label(two, b, "negative", "positive", "negative")
    label(two, c, "negative", "positive", "negative")
    result = disputed_traces_for_project(project=project)
    assert [(r.trace_id, r.disputed_step_count, r.annotator_count) for r in result.rows] == [
        (two.pk, 2, 3), (one.pk, 1, 2),
    ]
    assert (result.total, result.open_step_count, result.unanimous_open_step_count) == (2, 3, 5)


def test_source_annotators_do_not_count_as_disagreement(project, annotators):
    trace = TraceFactory(project=project, steps=1)
    label(trace, annotators[0], "positive")
    label(trace, source_annotator_get_or_create(source="prm800k"), "negative")
    assert disputed_traces_for_project(project=project).rows == []
    assert unanimous_steps_for_project(project=project) == []


def test_list_pages_and_counts_in_a_fixed_number_of_queries(
    project, annotators, django_assert_num_queries
):
    a, b, _ = annotators
    for _ in range(5):
        trace = TraceFactory(project=project, steps=1)
        label(trace, a, "positive")
        label(trace, b, "negative")
    # Fingerprint, trace range, source annotators, labels, gold, mapping, QC traces, page
    # traces, annotators.
    with django_assert_num_queries(9):
        page = disputed_traces_for_project(project=project, page=2, per_page=2)
    assert (len(page.rows), page.total, page.page_count) == (2, 5, 3)
    with django_assert_num_queries(4):  # cached ranking: fingerprint, QC, traces, annotators
        again = disputed_traces_for_project(project=project, page=3, per_page=2)
    assert [r.trace_id for r in again.rows] == [page.rows[-1].trace_id + 1]
    with django_assert_num_queries(2):
        empty = disputed_traces_for_project(project=project, page=9, per_page=2)
    assert empty.rows == [] and empty.open_trace_count == 5


def test_cached_ranking_follows_label_and_gold_changes(project, lead, annotators):
    a, b, _ = annotators
    trace = TraceFactory(project=project, steps=1)
    label(trace, a, "positive")
    label(trace, b, "negative")
    assert disputed_traces_for_project(project=project).total == 1
    label(trace, b, "positive")  # an update: same label id, a new history row
    assert disputed_traces_for_project(project=project).total == 0
    label(trace, b, "neutral")
    gold_set(project, trace, 0, "neutral", lead)
    assert disputed_traces_for_project(project=project).total == 0
    from labeling.services.gold import gold_label_delete
    gold_label_delete(trace=trace, step_index=0)
    assert disputed_traces_for_project(project=project).total == 1


def test_lead_decision_is_stored_with_who_when_and_how(project, lead, annotators):
    trace = TraceFactory(project=project, steps=1)
    label(trace, annotators[0], "positive")
    label(trace, annotators[1], "negative")
    gold = gold_set(project, trace, 0, "negative", lead)
    assert (gold.category.key, gold.polarity, gold.method, gold.decided_by) == (
        "negative", -1, "lead", lead)
    assert gold.decided_at is not None
    assert disputed_traces_for_project(project=project).rows == []
    assert disputed_traces_for_project(project=project, status="disputed").total == 1


def gold_set(project, trace, index, key, lead, method="lead"):
    from labeling.services.gold import gold_label_set
    return gold_label_set(project=project, trace=trace, step_index=index, category_key=key,
                          decided_by=lead, method=method)


def test_setting_gold_again_replaces_it(project, lead):
    trace = TraceFactory(project=project, steps=1)
    gold_set(project, trace, 0, "negative", lead)
    gold_set(project, trace, 0, "neutral", lead)
    assert list(GoldLabel.objects.values_list("category__key", flat=True)) == ["neutral"]


def test_unknown_category_or_step_is_refused(project, lead):
    trace = TraceFactory(project=project, steps=1)
    with pytest.raises(LabelNotInTaxonomy):
        gold_set(project, trace, 0, "nope", lead)
    with pytest.raises(NotFound):
        gold_set(project, trace, 5, "positive", lead)
    assert not GoldLabel.objects.exists()


def test_majority_gold_must_be_the_majority(project, lead, annotators):
    trace = TraceFactory(project=project, steps=1)
    label(trace, annotators[0], "negative")
    label(trace, annotators[1], "negative")
    label(trace, annotators[2], "positive")
    with pytest.raises(Conflict):
        gold_set(project, trace, 0, "positive", lead, method="majority")
    assert gold_set(project, trace, 0, "negative", lead, method="majority").method == "majority"


def test_bulk_unanimous_makes_gold_only_of_agreed_steps_without_gold(project, lead, annotators):
    from labeling.services.gold import gold_labels_from_unanimous
    a, b, _ = annotators
    trace = TraceFactory(project=project, steps=4)
    label(trace, a, "positive", "neutral", "negative", "positive")
    label(trace, b, "positive", "negative", "negative", None)
    gold_set(project, trace, 2, "neutral", lead)
    assert gold_labels_from_unanimous(project=project, decided_by=lead) == 1
    golds = {
        g.step.index: (g.category.key, g.method)
        for g in GoldLabel.objects.select_related("step", "category")
    }
    assert golds == {0: ("positive", "unanimous"), 2: ("neutral", "lead")}
    assert gold_labels_from_unanimous(project=project, decided_by=lead) == 0


def test_labels_of_an_older_version_are_compared_through_the_mapping(project, lead, annotators):
    a, b, _ = annotators
    trace = TraceFactory(project=project, steps=1)
    label(trace, a, "negative")
    taxonomy_version_publish_new(
        project=project, published_by=lead,
        categories=[{"key": "ok", "name": "OK", "polarity": 1},
                    {"key": "wrong", "name": "Wrong", "polarity": -1}],
        mapping={"positive": "ok", "neutral": "ok", "negative": "wrong"},
    )
    trace.refresh_from_db()
    label(trace, b, "wrong")
    assert disputed_traces_for_project(project=project, status="disputed").rows == []
    [(_, _, category_id)] = unanimous_steps_for_project(project=project)
    assert category_id == project.taxonomy_version.categories.get(key="wrong").pk


def test_side_by_side_view_runs_a_fixed_number_of_queries(
    project, lead, annotators, django_assert_num_queries
):
    a, b, c = annotators
    trace = TraceFactory(project=project, steps=6)
    label(trace, a, "positive", "neutral", "negative", "positive", "neutral", "negative")
    label(trace, b, "positive", "positive", "negative", "negative", "neutral", "negative")
    label(trace, c, "positive", "positive", "positive", "negative", "neutral", "negative")
    gold_set(project, trace, 1, "positive", lead)
    with django_assert_num_queries(13):  # 6 for the view, 7 for a cold ranking
        view = trace_adjudication_for_lead(project=project, trace_id=trace.pk)
    assert [a.username for a in view.annotators] == ["a0", "a1", "a2"]
    assert [r.is_disputed for r in view.rows] == [False, True, True, True, False, False]
    assert view.rows[1].gold.category.key == "positive"
    assert view.rows[2].majority.key == "negative"
    keys = [cell.category.key for cell in view.rows[3].cells]
    assert keys == ["positive", "negative", "negative"]


def test_refresh_recounts_only_touched_traces_and_keeps_the_rest(
    project, lead, annotators, monkeypatch
):
    from labeling.selectors import adjudication
    monkeypatch.setattr(adjudication, "ID_MARGIN", 0)
    a, b, _ = annotators
    traces = [TraceFactory(project=project, steps=2) for _ in range(3)]
    for i, trace in enumerate(traces):
        label(trace, a, "positive", "positive")
        label(trace, b, "negative", "negative" if i == 2 else "positive")
    first = disputed_traces_for_project(project=project)
    assert [(r.trace_id, r.disputed_step_count) for r in first.rows] == [
        (traces[2].pk, 2), (traces[0].pk, 1), (traces[1].pk, 1)]
    label(traces[0], b, "positive", "positive")  # trace 0 now agrees everywhere
    label(traces[1], b, "negative", "negative")  # trace 1 now disputes both steps
    second = disputed_traces_for_project(project=project)
    assert [(r.trace_id, r.disputed_step_count) for r in second.rows] == [
        (traces[1].pk, 2), (traces[2].pk, 2)]
    assert second.unanimous_open_step_count == 2
    gold_set(project, traces[2], 0, "negative", lead)
    third = disputed_traces_for_project(project=project)
    assert [(r.trace_id, r.open_step_count) for r in third.rows] == [
        (traces[1].pk, 2), (traces[2].pk, 1)]


def test_deleting_gold_reopens_the_step_in_the_cached_ranking(
    project, lead, annotators, monkeypatch
):
    from labeling.selectors import adjudication
    from labeling.services.gold import gold_label_delete
    monkeypatch.setattr(adjudication, "ID_MARGIN", 0)
    a, b, _ = annotators
    traces = [TraceFactory(project=project, steps=1) for _ in range(2)]
    for trace in traces:
        label(trace, a, "positive")
        label(trace, b, "negative")
    gold_set(project, traces[0], 0, "negative", lead)
    assert [r.trace_id for r in disputed_traces_for_project(project=project).rows] == [
        traces[1].pk]
    gold_label_delete(trace=traces[0], step_index=0)
    assert [r.trace_id for r in disputed_traces_for_project(project=project).rows] == [
        traces[0].pk, traces[1].pk]


def test_interleaved_projects_are_kept_apart(project, lead, annotators):
    from labeling.services.projects import project_create
    other = project_create(name="Other", slug="other", lead=lead)
    a, b, _ = annotators
    mine, theirs = [], []
    for _ in range(2):  # trace ids alternate between the two projects
        mine.append(TraceFactory(project=project, steps=1))
        theirs.append(TraceFactory(project=other, steps=1))
    for trace in [*mine, *theirs]:
        trace.refresh_from_db()
        label(trace, a, "positive")
        label(trace, b, "negative")
    assert {r.trace_id for r in disputed_traces_for_project(project=project).rows} == {
        t.pk for t in mine}
    assert {r.trace_id for r in disputed_traces_for_project(project=other).rows} == {
        t.pk for t in theirs}


def test_a_project_without_traces_has_an_empty_list(project):
    result = disputed_traces_for_project(project=project)
    assert (result.rows, result.total, result.unanimous_open_step_count) == ([], 0, 0)


def test_labels_packed_into_one_integer_read_back_as_their_ids(project, annotators, monkeypatch):
    """The ranking reads (step, trace, category) packed into one int8 per label when the ids
    fit, else as three columns: both give the rows the label table holds."""
    from labeling.models import StepLabel
    from labeling.selectors import adjudication

    a, b, _ = annotators
    for keys in (("positive", "negative"), ("neutral", "neutral"), ("negative", "positive")):
        trace = TraceFactory(project=project, steps=2)
        label(trace, a, *keys)
        label(trace, b, "negative", keys[0])
    expected = sorted(StepLabel.objects.values_list("step_id", "trace_id", "category_id"))
    scope = adjudication._label_scope(project, None)
    assert scope.is_packed
    packed = adjudication._label_columns(StepLabel.objects.filter(scope.where), scope)
    assert sorted(map(tuple, packed.tolist())) == expected
    ranking = adjudication._count(project)
    monkeypatch.setattr(adjudication, "PACKED_BITS", 0)
    assert not adjudication._label_scope(project, None).is_packed
    assert adjudication._count(project) == ranking
    assert [r[1] for r in ranking] == [2, 1, 1]


def test_labels_newer_than_the_packing_bounds_are_left_out_not_misread(project, annotators):
    """A trace imported between the bounds query and the label read has ids past the bounds:
    its labels wait for the next refresh instead of spilling into another id's bits."""
    from labeling.models import StepLabel
    from labeling.selectors import adjudication

    a, b, _ = annotators
    old = TraceFactory(project=project, steps=2)
    label(old, a, "positive", "negative")
    scope = adjudication._label_scope(project, None)
    before = sorted(StepLabel.objects.values_list("step_id", "trace_id", "category_id"))
    for _ in range(3):  # enough new steps to need one more bit
        label(TraceFactory(project=project, steps=2), b, "neutral", "neutral")
    read = adjudication._label_columns(StepLabel.objects.filter(trace__project=project), scope)
    assert sorted(map(tuple, read.tolist())) == before


def test_bulk_gold_never_sees_a_partial_label_set_when_a_label_passes_the_bounds(
    project, annotators, lead, monkeypatch
):
    """A third label moved to a category created after the bounds query would be left out of
    the packed read, and two agreeing labels would look unanimous: the bulk action, which no
    refresh corrects, reads the labels again unpacked instead."""
    from labeling.models import Category, StepLabel
    from labeling.selectors import adjudication
    from labeling.services.gold import gold_labels_from_unanimous

    a, b, c = annotators
    trace = TraceFactory(project=project, steps=1)
    for user in (a, b, c):
        label(trace, user, "positive")
    scope = adjudication._label_scope(project, None)
    assert scope.is_packed
    newest = Category.objects.order_by("-id").first()
    late = Category.objects.create(
        version=project.taxonomy_version, key="late", name="Late", polarity=-1,
        position=newest.position + 1, hotkey="9",
    )
    StepLabel.objects.filter(trace=trace, annotator=c).update(category=late, polarity=-1)
    monkeypatch.setattr(adjudication, "_label_scope", lambda *args: scope)
    assert unanimous_steps_for_project(project=project) == []
    assert gold_labels_from_unanimous(project=project, decided_by=lead) == 0
    assert not GoldLabel.objects.exists()
