"""Membership writes: add existing users, create users, change roles, remove members."""
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from labeling.errors import Conflict, DomainError, NotAllowed
from labeling.models import Membership, Project, User

Role = Membership.Role


def _role_check(role: str) -> None:
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}; use one of {', '.join(Role.values)}.",
                          field="role")


def _keeps_a_lead(*, membership: Membership) -> None:
    """Refuse a change that would leave the project without any lead."""
    if membership.role != Role.LEAD:
        return
    other_leads = (
        Membership.objects.select_for_update()
        .filter(project_id=membership.project_id, role=Role.LEAD)
        .exclude(pk=membership.pk)
    )
    if not other_leads.exists():
        raise Conflict("A project keeps at least one lead: make someone else lead first.",
                       field="role")


@transaction.atomic
def membership_add(*, project: Project, user: User, role: str) -> Membership:
    """Add an existing user to the project with a role; refuses members and source users."""
    _role_check(role)
    if user.is_source:
        raise NotAllowed(f"{user.username} stands for imported labels and cannot be a member.",
                         field="username")
    if Membership.objects.filter(project=project, user=user).exists():
        raise Conflict(f"{user.username} is already a member of this project.",
                       field="username")
    return Membership.objects.create(project=project, user=user, role=role)


@transaction.atomic
def member_user_create(
    *,
    project: Project,
    username: str,
    password: str,
    role: str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> Membership:
    """Create a user account and make it a member of the project with a role."""
    _role_check(role)
    username = username.strip()
    if not username:
        raise DomainError("A username is required.", field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"The username {username!r} is taken; add the existing user instead.",
                       field="username")
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), field="password") from exc
    user.set_password(password)
    user.save()
    return Membership.objects.create(project=project, user=user, role=role)


@transaction.atomic
def membership_role_change(*, membership: Membership, role: str) -> Membership:
    """Change a member's role; the last lead cannot step down."""
    _role_check(role)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if role != membership.role:
        _keeps_a_lead(membership=membership)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Remove a member; their labels, history and assignments stay. The last lead stays."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    _keeps_a_lead(membership=membership)
    membership.delete()
