"""The project boots: pages, API schema and admin answer."""
import pytest

pytestmark = pytest.mark.django_db


def test_home_redirects_anonymous_users_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_home_lists_my_projects(client, annotator, project):
    client.force_login(annotator)
    response = client.get("/")
    assert response.status_code == 200
    assert b"Demo math" in response.content


def test_openapi_schema_is_served(admin_client):
    response = admin_client.get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi" in response.content


def test_project_detail_is_hidden_from_non_members(api_client, user, project):
    api_client.force_authenticate(user)
    assert api_client.get(f"/api/projects/{project.slug}/").status_code == 404


def test_project_detail_lists_categories_for_members(annotator_client, project):
    data = annotator_client.get(f"/api/projects/{project.slug}/").json()
    assert [c["key"] for c in data["categories"]] == ["positive", "neutral", "negative"]
    assert data["role"] == "annotator"
