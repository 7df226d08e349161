"""Project and membership writes."""

from django.db import transaction

from labeling.models import Membership, Project, User
from labeling.services.taxonomies import taxonomy_default_create


@transaction.atomic
def project_create(*, name: str, slug: str, lead: User | None = None, **settings_fields) -> Project:
    """Create a project with the default published taxonomy, and make `lead` its lead."""
    project = Project.objects.create(name=name, slug=slug, **settings_fields)
    taxonomy_default_create(project=project, published_by=lead)
    if lead is not None:
        Membership.objects.create(project=project, user=lead, role=Membership.Role.LEAD)
    return project


def membership_set(*, project: Project, user: User, role: str) -> Membership:
    """Give the user this role in the project, adding them as a member when needed."""
    membership, _ = Membership.objects.update_or_create(
        project=project, user=user, defaults={"role": role}
    )
    return membership


def source_annotator_get_or_create(*, source: str, labeler: str = "") -> User:
    """Return the non-person user owning labels imported from `source` (e.g. source-prm800k).

    Datasets that name their human labelers (PRM800K) get one source annotator per labeler,
    `source-prm800k-<labeler>`, so their agreement can be measured like anyone else's.
    """
    username = f"source-{source}-{labeler}" if labeler else f"source-{source}"
    user, created = User.objects.get_or_create(
        username=username, defaults={"is_source": True, "first_name": source}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
