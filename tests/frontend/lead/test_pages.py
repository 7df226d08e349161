"""Lead pages: lead only (annotators and researchers 403, non-members 404), few queries."""
import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

LEAD_PAGES = ["lead:taxonomy", "lead:members"]


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
