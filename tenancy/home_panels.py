"""What tenancy adds to the home page: the team overview for admins."""

from django.utils.translation import gettext as _

from tenancy.home import HomePanel, register_home_panel
from tenancy.permissions import Capability, role_can


@register_home_panel
def team_overview(request) -> HomePanel | None:
    if not role_can(request.membership.role, Capability.MANAGE_MEMBERS):
        return None
    from tenancy.selectors import invitation_pending_list, membership_list

    members = list(membership_list(org=request.organization))
    # All of them: the panel shows how many are pending (a slice made the count stop at 5).
    invitations = list(invitation_pending_list(org=request.organization))
    return HomePanel(
        title=_("Your team"),
        template="tenancy/partials/home_team.html",
        context={"members": members, "invitations": invitations},
        order=5,
    )
