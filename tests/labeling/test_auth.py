"""labeling.auth.ModelBackend: the per-request user load gives what Django's backend gives."""
import pytest
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

from labeling.auth import ModelBackend
from tests.labeling.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_get_user_returns_the_same_user_as_djangos_backend(django_assert_num_queries):
    user = UserFactory(username="alice", is_source=False)
    with django_assert_num_queries(1):
        loaded = ModelBackend().get_user(user.pk)
    reference = DjangoModelBackend().get_user(user.pk)
    fields = [f.attname for f in type(user)._meta.concrete_fields]
    assert {f: getattr(loaded, f) for f in fields} == {f: getattr(reference, f) for f in fields}
    assert loaded.get_session_auth_hash() == user.get_session_auth_hash()
    assert loaded._state.adding is False and loaded._state.db == "default"


def test_inactive_or_unknown_users_give_no_user():
    user = UserFactory(username="gone", is_active=False)
    backend = ModelBackend()
    assert backend.get_user(user.pk) is None
    assert backend.get_user(user.pk + 1000) is None
    assert backend.get_user(str(user.pk + 1000)) is None  # session values are strings


def test_a_session_login_reaches_the_api_through_it(client, project, lead):
    client.force_login(lead)
    assert client.session["_auth_user_backend"] == "labeling.auth.ModelBackend"
    response = client.get(f"/api/projects/{project.slug}/traces/999/labels/")
    assert response.status_code == 404  # signed in and a member: the trace is what is missing
    lead.set_password("changed")
    lead.save()
    assert client.get(f"/api/projects/{project.slug}/traces/999/labels/").status_code == 403
