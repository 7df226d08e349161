"""The researcher's export page."""
import pytest

from exports.models import ExportJob

pytestmark = pytest.mark.django_db


def test_researcher_sees_the_form_and_past_exports(client, researcher, project):
    ExportJob.objects.create(project=project, format="trl", state="failed", error="Boom <b>x</b>")
    client.force_login(researcher)
    response = client.get(f"/projects/{project.slug}/exports/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="export-form"' in html and 'value="math-shepherd"' in html
    assert 'data-testid="export-job"' in html
    assert "Boom &lt;b&gt;x&lt;/b&gt;" in html  # errors are escaped
    assert "exports/exports.js" in html


def test_annotator_gets_403_and_non_member_404(client, annotator, user, project):
    client.force_login(annotator)
    assert client.get(f"/projects/{project.slug}/exports/").status_code == 403
    client.force_login(user)
    assert client.get(f"/projects/{project.slug}/exports/").status_code == 404


def test_anonymous_visitors_are_sent_to_login(client, project):
    response = client.get(f"/projects/{project.slug}/exports/")
    assert response.status_code == 302 and "/login/" in response["Location"]
