"""Build step labels through the label service for agreement tests that hit the database."""
from labeling.models import Membership, Project, Trace, User
from labeling.services.labels import LabelInput, step_labels_set
from labeling.services.projects import membership_set
from tests.labeling.factories import TraceFactory, UserFactory


def annotators(project: Project, *names: str) -> list[User]:
    """Return annotator users with these usernames, members of the project."""
    users = []
    for name in names:
        user = UserFactory(username=name)
        membership_set(project=project, user=user, role=Membership.Role.ANNOTATOR)
        users.append(user)
    return users


def trace_with_labels(project: Project, labels: dict[User, list[str]], **fields) -> Trace:
    """Create a trace with as many steps as the longest label list, and set each user's labels."""
    n_steps = max(len(keys) for keys in labels.values())
    trace = TraceFactory(project=project, steps=n_steps, **fields)
    for user, keys in labels.items():
        step_labels_set(
            trace=trace,
            annotator=user,
            labels=[LabelInput(step_index=i, category_key=k) for i, k in enumerate(keys) if k],
        )
    return trace
