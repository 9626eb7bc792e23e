from django.utils.functional import SimpleLazyObject

from tenancy.permissions import RoleCapabilities
from tenancy.selectors import membership_list_for_user, notification_unread_count


def tenancy(request) -> dict:
    """The organization, the member's role and capabilities, the switcher's list and the bell's
    unread count (lazy: one cheap query, only on pages that show the bell)."""
    membership = getattr(request, "membership", None)
    user = getattr(request, "user", None)
    org = getattr(request, "organization", None)
    return {
        "org": org,
        "membership": membership,
        "can": RoleCapabilities(membership.role if membership else None),
        "my_memberships": (
            SimpleLazyObject(lambda: membership_list_for_user(user=user))
            if user is not None and user.is_authenticated
            else ()
        ),
        "unread_notifications": (
            SimpleLazyObject(lambda: notification_unread_count(org=org, user=user))
            if org is not None and membership is not None
            else 0
        ),
    }
