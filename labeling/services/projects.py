"""Project and membership writes."""

from django.db import transaction

from labeling.errors import Conflict, DomainError, NotAllowed
from labeling.models import Membership, Project, User
from labeling.selectors.projects import user_can_create_projects
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


# Settings a lead may change after creation; anything else goes through its own service.
PROJECT_SETTINGS_FIELDS = frozenset({
    "name", "guidelines", "overlap", "labeling_mode", "is_blind", "queue_order", "queue_seed",
    "shows_ground_truth", "qc_rate",
})


def _settings_check(fields: dict) -> None:
    unknown = set(fields) - PROJECT_SETTINGS_FIELDS
    if unknown:
        raise DomainError(f"Not a project setting: {', '.join(sorted(unknown))}.",
                          field=sorted(unknown)[0])
    if "name" in fields and not str(fields["name"]).strip():
        raise DomainError("A project needs a name.", field="name")
    if "overlap" in fields and not 1 <= int(fields["overlap"]) <= 50:
        raise DomainError("Overlap is the number of annotators per trace: 1 to 50.",
                          field="overlap")
    if "qc_rate" in fields and not 0 <= float(fields["qc_rate"]) <= 1:
        raise DomainError("The QC rate is a share between 0 and 1.", field="qc_rate")
    if "labeling_mode" in fields and fields["labeling_mode"] not in Project.LabelingMode.values:
        raise DomainError(f"Unknown labeling mode {fields['labeling_mode']!r}.",
                          field="labeling_mode")
    if "queue_order" in fields and fields["queue_order"] not in Project.QueueOrder.values:
        raise DomainError(f"Unknown queue order {fields['queue_order']!r}.", field="queue_order")


@transaction.atomic
def project_update(*, project: Project, **fields) -> Project:
    """Change the project's settings (guidelines, overlap, modes, queue order, ...)."""
    _settings_check(fields)
    for name, value in fields.items():
        setattr(project, name, value.strip() if name == "name" else value)
    project.save(update_fields=[*fields, "updated_at"])
    return project


def project_create_by(*, user: User, name: str, slug: str, **fields) -> Project:
    """Create a project for a user allowed to lead projects (staff, or already a lead)."""
    if not user_can_create_projects(user=user):
        raise NotAllowed("Only staff and project leads can create projects.")
    if Project.objects.filter(slug=slug).exists():
        raise Conflict(f"The address {slug!r} is taken; choose another.", field="slug")
    _settings_check({"name": name, **fields})
    return project_create(name=name.strip(), slug=slug, lead=user, **fields)
