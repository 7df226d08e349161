"""Members: add, create, change role, remove; a project keeps a lead; labels stay."""
import pytest

from labeling.errors import Conflict, DomainError, NotAllowed
from labeling.models import Membership, StepLabel, User
from labeling.selectors.members import members_for_project
from labeling.services.labels import LabelInput, step_labels_set
from labeling.services.members import (
    member_user_create,
    membership_add,
    membership_remove,
    membership_role_change,
)
from labeling.services.projects import source_annotator_get_or_create
from tests.labeling.factories import TraceFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_an_existing_user_is_added_with_a_role(project):
    bob = UserFactory(username="bob")
    membership = membership_add(project=project, user=bob, role="annotator")
    assert (membership.user, membership.role) == (bob, "annotator")


def test_adding_a_member_twice_is_a_conflict(project, annotator):
    with pytest.raises(Conflict):
        membership_add(project=project, user=annotator, role="researcher")


def test_source_annotators_cannot_become_members(project):
    source = source_annotator_get_or_create(source="prm800k")
    with pytest.raises(NotAllowed):
        membership_add(project=project, user=source, role="annotator")


def test_created_user_can_log_in_and_is_a_member(project):
    membership = member_user_create(
        project=project, username="newbie", password="a-long-password-1", role="annotator",
        first_name="New",
    )
    user = User.objects.get(username="newbie")
    assert user.check_password("a-long-password-1") and membership.user == user


def test_taken_username_or_short_password_creates_nothing(project, annotator):
    with pytest.raises(Conflict):
        member_user_create(project=project, username="ANN", password="x" * 12, role="annotator")
    with pytest.raises(DomainError) as info:
        member_user_create(project=project, username="shorty", password="abc", role="annotator")
    assert info.value.details["field"] == "password"
    assert not User.objects.filter(username="shorty").exists()


def test_unknown_role_is_refused(project):
    with pytest.raises(DomainError):
        membership_add(project=project, user=UserFactory(), role="boss")


def test_the_last_lead_cannot_step_down_or_leave(project, lead):
    membership = Membership.objects.get(project=project, user=lead)
    with pytest.raises(Conflict):
        membership_role_change(membership=membership, role="annotator")
    with pytest.raises(Conflict):
        membership_remove(membership=membership)
    assert Membership.objects.get(pk=membership.pk).role == "lead"


def test_a_lead_can_step_down_once_another_lead_exists(project, lead, annotator):
    other = Membership.objects.get(project=project, user=annotator)
    membership_role_change(membership=other, role="lead")
    mine = Membership.objects.get(project=project, user=lead)
    assert membership_role_change(membership=mine, role="researcher").role == "researcher"


def test_removing_a_member_keeps_their_labels(project, annotator):
    trace = TraceFactory(project=project, steps=1)
    step_labels_set(trace=trace, annotator=annotator, labels=[LabelInput(0, "positive")])
    membership_remove(membership=Membership.objects.get(project=project, user=annotator))
    assert not Membership.objects.filter(user=annotator).exists()
    assert StepLabel.objects.filter(annotator=annotator).count() == 1


def test_member_list_counts_labels_in_one_query(
    project, annotator, researcher, django_assert_num_queries
):
    trace = TraceFactory(project=project, steps=2)
    step_labels_set(trace=trace, annotator=annotator,
                    labels=[LabelInput(0, "positive"), LabelInput(1, "neutral")])
    with django_assert_num_queries(1):
        rows = [(m.user.username, m.role, m.label_count) for m in members_for_project(project=project)]
    assert rows == [("lead", "lead", 0), ("ann", "annotator", 2), ("res", "researcher", 0)]
