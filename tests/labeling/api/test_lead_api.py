"""Lead API: taxonomy, members, settings and gold behave (who may call each endpoint:
tests/frontend/lead/test_permissions.py, from the URLconf)."""
import pytest
from django.urls import reverse

from labeling.models import CategoryMapping
from labeling.services.labels import LabelInput, step_labels_set
from tests.labeling.factories import TraceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_cache", "fast_password_hashing")]


def _url(name, project, **kwargs):
    return reverse(name, kwargs={"slug": project.slug, **kwargs})


NEW_CATEGORIES = [
    {"key": "ok", "name": "Correct", "polarity": 1, "hotkey": "1", "colour": "#1a7f37"},
    {"key": "wrong", "name": "Wrong", "polarity": -1, "hotkey": "3", "colour": "#cf222e"},
    {"key": "calc", "name": "Calculation error", "polarity": -1, "hotkey": "c",
     "colour": "#a40e26", "parent": "wrong", "is_rationale_required": True},
]


def test_taxonomy_state_lists_current_categories_and_history(lead_client, project):
    data = lead_client.get(_url("labeling:lead-taxonomy", project)).json()
    assert [c["key"] for c in data["current"]["categories"]] == ["positive", "neutral", "negative"]
    assert data["current"]["has_labels"] is False and data["draft"] is None
    assert [v["number"] for v in data["versions"]] == [1]


def test_draft_with_a_hotkey_clash_is_refused_with_the_field(lead_client, project):
    bad = [dict(NEW_CATEGORIES[0]), dict(NEW_CATEGORIES[1], hotkey="1")]
    response = lead_client.put(
        _url("labeling:lead-taxonomy-draft", project), {"categories": bad}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 1, "field": "hotkey", "message": "Hotkey '1' clashes with category 1."}
    ]


def test_publish_with_labels_needs_a_mapping_then_stores_it(lead_client, project, annotator):
    trace = TraceFactory(project=project, steps=1)
    step_labels_set(trace=trace, annotator=annotator, labels=[LabelInput(0, "negative")])
    url = _url("labeling:lead-taxonomy-publish", project)
    refused = lead_client.post(url, {"categories": NEW_CATEGORIES}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "taxonomy_invalid"
    mapping = {"positive": "ok", "neutral": "ok", "negative": "wrong"}
    response = lead_client.post(
        url, {"categories": NEW_CATEGORIES, "mapping": mapping}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["current"]["number"] == 2
    assert CategoryMapping.objects.count() == 3
    project_data = lead_client.get(reverse("labeling:project-detail", args=[project.slug])).json()
    assert [c["key"] for c in project_data["categories"]] == ["ok", "wrong", "calc"]


def test_lead_adds_an_existing_user_and_changes_their_role(lead_client, project):
    from tests.labeling.factories import UserFactory
    bob = UserFactory(username="bob")
    added = lead_client.post(_url("labeling:lead-members", project),
                             {"username": "bob", "role": "annotator"}, format="json")
    assert added.status_code == 201 and added.json()["role"] == "annotator"
    trace = TraceFactory(project=project, steps=2)
    step_labels_set(trace=trace, annotator=bob,
                    labels=[LabelInput(0, "positive"), LabelInput(1, "neutral")])
    changed = lead_client.patch(_url("labeling:lead-member-detail", project, user_id=bob.pk),
                                {"role": "researcher"}, format="json")
    assert (changed.json()["role"], changed.json()["label_count"]) == ("researcher", 2)
    listed = lead_client.get(_url("labeling:lead-members", project)).json()
    assert [(m["username"], m["role"]) for m in listed] == [("lead", "lead"), ("bob", "researcher")]


def test_adding_an_unknown_username_is_404_naming_the_field(lead_client, project):
    response = lead_client.post(_url("labeling:lead-members", project),
                                {"username": "ghost", "role": "annotator"}, format="json")
    assert response.status_code == 404 and response.json()["field"] == "username"


def test_lead_creates_a_user_account(lead_client, project):
    response = lead_client.post(
        _url("labeling:lead-member-user-create", project),
        {"username": "carol", "password": "carol-secret-99", "role": "annotator"}, format="json",
    )
    assert response.status_code == 201 and response.json()["username"] == "carol"


def test_removing_the_last_lead_is_a_conflict(lead_client, project, lead):
    response = lead_client.delete(_url("labeling:lead-member-detail", project, user_id=lead.pk))
    assert response.status_code == 409


def test_removing_a_member_of_another_project_is_404(lead_client, project):
    from tests.labeling.factories import UserFactory
    stranger = UserFactory(username="stranger")
    response = lead_client.delete(_url("labeling:lead-member-detail", project, user_id=stranger.pk))
    assert response.status_code == 404


def test_lead_changes_settings_and_others_stay(lead_client, project):
    response = lead_client.patch(
        _url("labeling:lead-settings", project),
        {"overlap": 3, "labeling_mode": "first_error", "is_blind": False,
         "queue_order": "random", "guidelines": "## Be careful"}, format="json",
    )
    assert response.status_code == 200
    project.refresh_from_db()
    assert (project.overlap, project.labeling_mode, project.is_blind, project.queue_order) == (
        3, "first_error", False, "random")
    assert (project.name, project.guidelines) == ("Demo math", "## Be careful")


def test_bad_settings_are_refused_naming_the_field(lead_client, project):
    response = lead_client.patch(_url("labeling:lead-settings", project),
                                 {"overlap": 0, "queue_order": "sideways"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"overlap", "queue_order"}
    project.refresh_from_db()
    assert project.overlap == 2


def test_a_lead_creates_a_project_and_leads_it(lead_client, lead, project):
    response = lead_client.post(reverse("labeling:lead-project-create"),
                                {"name": "Physics", "slug": "physics", "overlap": 3}, format="json")
    assert response.status_code == 201
    assert response.json()["taxonomy_version"] == 1
    from labeling.models import Membership
    assert Membership.objects.get(project__slug="physics").user == lead


def test_a_taken_project_address_is_a_conflict(lead_client, project):
    response = lead_client.post(reverse("labeling:lead-project-create"),
                                {"name": "Again", "slug": project.slug}, format="json")
    assert response.status_code == 409 and response.json()["field"] == "slug"


def test_annotators_cannot_create_projects(annotator_client):
    response = annotator_client.post(reverse("labeling:lead-project-create"),
                                     {"name": "Mine", "slug": "mine"}, format="json")
    assert response.status_code == 403


@pytest.fixture
def disputed_trace(project, annotator):
    from labeling.services.projects import membership_set
    from tests.labeling.factories import UserFactory
    other = UserFactory(username="ann2")
    membership_set(project=project, user=other, role="annotator")
    trace = TraceFactory(project=project, steps=2, external_id="t-1")
    step_labels_set(trace=trace, annotator=annotator,
                    labels=[LabelInput(0, "positive"), LabelInput(1, "neutral", rationale="meh")])
    step_labels_set(trace=trace, annotator=other,
                    labels=[LabelInput(0, "positive"), LabelInput(1, "negative")])
    return trace


def test_adjudication_list_and_trace_detail(lead_client, project, disputed_trace):
    listed = lead_client.get(_url("labeling:lead-adjudication", project)).json()
    assert [(r["trace_id"], r["disputed_step_count"]) for r in listed["rows"]] == [
        (disputed_trace.pk, 1)]
    detail = lead_client.get(
        _url("labeling:lead-adjudication-trace", project, trace_id=disputed_trace.pk)).json()
    step = detail["steps"][1]
    assert step["is_disputed"] is True and step["gold"] is None
    assert [(x["category"], x["rationale"]) for x in step["labels"]] == [
        ("neutral", "meh"), ("negative", "")]


def test_lead_sets_and_clears_gold(lead_client, project, disputed_trace):
    url = _url("labeling:lead-gold-label", project, trace_id=disputed_trace.pk, step_index=1)
    response = lead_client.put(url, {"category": "negative"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["category"], body["method"], body["decided_by"]) == ("negative", "lead", "lead")
    assert lead_client.delete(url).status_code == 204
    from labeling.models import GoldLabel
    assert not GoldLabel.objects.exists()


def test_gold_with_an_unknown_category_is_refused(lead_client, project, disputed_trace):
    url = _url("labeling:lead-gold-label", project, trace_id=disputed_trace.pk, step_index=1)
    response = lead_client.put(url, {"category": "nope"}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "category"


def test_gold_on_a_trace_of_another_project_is_404(lead_client, project, lead):
    from labeling.services.projects import project_create
    other = project_create(name="Other", slug="other")
    trace = TraceFactory(project=other, steps=1)
    url = _url("labeling:lead-gold-label", project, trace_id=trace.pk, step_index=0)
    assert lead_client.put(url, {"category": "positive"}, format="json").status_code == 404


def test_bulk_unanimous_endpoint_reports_how_many(lead_client, project, disputed_trace):
    response = lead_client.post(_url("labeling:lead-gold-unanimous", project))
    assert response.status_code == 201 and response.json() == {"created": 1}


def test_openapi_schema_documents_the_lead_endpoints(lead_client):
    schema = lead_client.get("/api/schema/", {"format": "json"}).json()
    assert "/api/projects/{slug}/taxonomy/publish/" in schema["paths"]
    assert "/api/projects/{slug}/gold/unanimous/" in schema["paths"]
