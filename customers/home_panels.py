"""What the customers app adds to each role's home page."""

from django.utils.translation import gettext as _

from tenancy.home import HomePanel, register_home_panel


@register_home_panel
def my_customers(request) -> HomePanel | None:
    from customers.selectors import customer_list_owned_recent

    customers = customer_list_owned_recent(org=request.organization, user=request.user, limit=8)
    return HomePanel(
        title=_("My customers"),
        template="customers/partials/home_my_customers.html",
        context={"customers": customers},
        order=10,
    )


@register_home_panel
def my_interactions(request) -> HomePanel | None:
    from customers.selectors import interaction_list_by_user

    interactions = interaction_list_by_user(org=request.organization, user=request.user, limit=6)
    return HomePanel(
        title=_("My latest interactions"),
        template="customers/partials/home_my_interactions.html",
        context={"interactions": interactions},
        order=20,
    )
