"""Lead pages: lead only (annotators and researchers 403, non-members 404), few queries."""
import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

LEAD_PAGES = ["lead:settings", "lead:taxonomy", "lead:members"]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("page", LEAD_PAGES)
def test_lead_pages_are_for_leads_only(page, project, lead, annotator, researcher, user):
    url = reverse(page, args=[project.slug])
    assert _client(annotator).get(url).status_code == 403
    assert _client(researcher).get(url).status_code == 403
    assert _client(user).get(url).status_code == 404
    assert _client(lead).get(url).status_code == 200


@pytest.mark.parametrize("page", LEAD_PAGES)
def test_anonymous_visitors_are_sent_to_login(page, project, client):
    response = client.get(reverse(page, args=[project.slug]))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("page", LEAD_PAGES)
def test_lead_pages_run_a_bounded_number_of_queries(
    page, project, lead, django_assert_max_num_queries
):
    client = _client(lead)
    with django_assert_max_num_queries(8):
        assert client.get(reverse(page, args=[project.slug])).status_code == 200


def test_guidelines_preview_is_lead_only_and_sanitised(project, lead, annotator, researcher, user):
    url = reverse("lead:guidelines-preview", args=[project.slug])
    text = "# Rules\n\n**Bold** <script>alert(1)</script>"
    for who, status in [(annotator, 403), (researcher, 403), (user, 404)]:
        assert _client(who).post(url, {"text": text}).status_code == status
    html = _client(lead).post(url, {"text": text}).json()["html"]
    assert "<strong>Bold</strong>" in html and "<script>" not in html


def test_settings_page_shows_the_guidelines_rendered_and_escaped(project, lead):
    project.guidelines = "Label *carefully* <img src=x onerror=alert(1)>"
    project.name = "<b>Maths</b>"
    project.save()
    body = _client(lead).get(reverse("lead:settings", args=[project.slug])).content.decode()
    assert "<em>carefully</em>" in body
    assert "<img src=x onerror" not in body and 'onerror="' not in body
    assert "&lt;b&gt;Maths&lt;/b&gt;" in body


def test_new_project_page_is_for_staff_and_leads(project, lead, user):
    url = reverse("lead-new:project")
    assert _client(user).get(url).status_code == 403
    assert _client(lead).get(url).status_code == 200
