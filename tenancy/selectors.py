"""Reads about organizations, members and activity."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from tenancy.models import (
    ActivityEvent,
    Invitation,
    Membership,
    Notification,
    Organization,
    User,
)


def membership_list_for_user(*, user: User) -> list[Membership]:
    """Every organization `user` belongs to (needs the user context set: see tenancy.context)."""
    return list(
        Membership.unscoped.filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    )


def membership_list(*, org: Organization) -> QuerySet[Membership]:
    return Membership.objects.select_related("user").order_by("user__full_name", "user__email")


def membership_get(*, org: Organization, pk: int) -> Membership:
    """A membership of `org`, or 404 (the same answer for "not yours" and "does not exist")."""
    return get_object_or_404(Membership.objects.select_related("user"), pk=pk)


def invitation_pending_list(*, org: Organization) -> QuerySet[Invitation]:
    from django.utils import timezone

    return (
        Invitation.objects.filter(accepted_at=None, expires_at__gt=timezone.now())
        .select_related("invited_by")
        .order_by("-created_at")
    )


def invitation_get(*, org: Organization, pk: int) -> Invitation:
    return get_object_or_404(Invitation.objects.all(), pk=pk)


def invitation_get_by_token(*, org: Organization, token: str) -> Invitation | None:
    """The pending invitation with `token` in `org`, or None when unknown, used or expired."""
    invitation = Invitation.objects.filter(token=token).first()
    if invitation is None or not invitation.is_pending:
        return None
    return invitation


def activity_list(*, org: Organization, limit: int = 20) -> list[ActivityEvent]:
    return list(ActivityEvent.objects.select_related("actor").order_by("-created_at")[:limit])


def activity_list_for_actor(
    *, org: Organization, user: User, limit: int = 10
) -> list[ActivityEvent]:
    return list(
        ActivityEvent.objects.filter(actor=user)
        .select_related("actor")
        .order_by("-created_at")[:limit]
    )


def admin_count(*, org: Organization) -> int:
    return Membership.objects.filter(role="admin").count()


# --- Notifications ----------------------------------------------------------------------------

UNREAD_CAP = 99


def notification_unread_count(*, org: Organization, user: User, cap: int = UNREAD_CAP) -> int:
    """How many of `user`'s notifications in `org` are unread, counted up to `cap` + 1 (the bell
    shows "99+"): one walk of the (organization, user, read_at) index, whatever the backlog."""
    return Notification.objects.filter(user=user, read_at=None).order_by()[: cap + 1].count()


def notification_list(*, org: Organization, user: User) -> QuerySet[Notification]:
    """`user`'s notifications in `org`, any order (the caller pages them newest first)."""
    return Notification.objects.filter(user=user)


def notification_latest(*, org: Organization, user: User, limit: int = 8) -> list[Notification]:
    """The newest `limit` notifications of `user` in `org`, for the bell's menu."""
    return list(Notification.objects.filter(user=user).order_by("-created_at", "-id")[:limit])


def notification_get(*, org: Organization, user: User, pk: int) -> Notification:
    """One of `user`'s notifications in `org`, or 404 (also for a colleague's notification)."""
    return get_object_or_404(Notification.objects.filter(user=user), pk=pk)
