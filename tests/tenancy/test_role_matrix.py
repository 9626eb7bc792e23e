"""Roles: the permission matrix, and every organization view checked against it for each role.

Views come from the resolver (tests/url_objects.py): a view decorated with
`require_capability(c)` must answer 403 to exactly the roles that lack `c`; any other view must
let every role in.
"""

import pytest
from django.core.exceptions import PermissionDenied
from django.template import Context, Template
from django.urls import reverse

from tenancy.permissions import (
    PERMISSIONS,
    Capability,
    Role,
    RoleCapabilities,
    require_capability,
    role_can,
)
from tests.url_objects import OrgUrl, org_url_kwargs, org_urls

ORG_URLS = org_urls()
ROLES = list(Role)

# The matrix as the product describes it; a change to PERMISSIONS must change this on purpose.
EXPECTED = {
    Role.ADMIN: set(Capability),
    Role.MANAGER: set(Capability)
    - {
        Capability.IMPORT_DATA,
        Capability.MANAGE_PRIVACY,
        Capability.RUN_ANALYTICS,
        Capability.MANAGE_MEMBERS,
        Capability.MANAGE_SETTINGS,
    },
    Role.SALES: {
        Capability.VIEW_CUSTOMERS,
        Capability.EDIT_CUSTOMERS,
        Capability.LOG_INTERACTIONS,
        Capability.WORK_SALES,
    },
    Role.MARKETING: {
        Capability.VIEW_CUSTOMERS,
        Capability.LOG_INTERACTIONS,
        Capability.EXPORT_DATA,
        Capability.WORK_MARKETING,
    },
    Role.SUPPORT: {
        Capability.VIEW_CUSTOMERS,
        Capability.EDIT_CUSTOMERS,
        Capability.LOG_INTERACTIONS,
        Capability.WORK_SERVICE,
    },
}


def _cases(urls: list[OrgUrl]) -> list:
    return [pytest.param(url, role, id=f"{url}-{role.value}") for url in urls for role in ROLES]


# --- The matrix -------------------------------------------------------------------------------


def test_every_capability_has_a_row_in_the_matrix():
    assert set(PERMISSIONS) == set(Capability)


def test_the_matrix_grants_what_the_product_describes():
    granted = {role: {c for c in Capability if role_can(role, c)} for role in ROLES}
    assert granted == EXPECTED


def test_an_admin_can_do_everything():
    assert all(role_can(Role.ADMIN, capability) for capability in Capability)


def test_every_role_can_view_customers_and_log_interactions():
    for role in ROLES:
        assert role_can(role, Capability.VIEW_CUSTOMERS)
        assert role_can(role, Capability.LOG_INTERACTIONS)


def test_no_role_means_no_capability():
    assert not any(role_can(None, capability) for capability in Capability)


def test_role_can_accepts_the_stored_string():
    assert role_can("admin", Capability.MANAGE_MEMBERS)
    assert not role_can("sales", Capability.MANAGE_MEMBERS)


def test_role_can_refuses_an_unknown_role():
    with pytest.raises(ValueError):
        role_can("owner", Capability.MANAGE_MEMBERS)


def test_role_capabilities_read_the_matrix():
    for role in ROLES:
        can = RoleCapabilities(role)
        for capability in Capability:
            assert getattr(can, capability.value) is role_can(role, capability)


def test_role_capabilities_without_a_role_allow_nothing():
    can = RoleCapabilities(None)
    assert not can.manage_members
    assert not can.view_customers


def test_role_capabilities_refuse_a_misspelt_capability():
    with pytest.raises(AttributeError):
        _ = RoleCapabilities(Role.ADMIN).manage_memebrs


@pytest.mark.parametrize("role", ROLES)
def test_templates_read_capabilities_through_can(role):
    template = Template(
        "{% if can.manage_members %}team{% endif %}|{% if can.work_sales %}deals{% endif %}"
    )

    rendered = template.render(Context({"can": RoleCapabilities(role)}))

    expected_team = "team" if role_can(role, Capability.MANAGE_MEMBERS) else ""
    expected_deals = "deals" if role_can(role, Capability.WORK_SALES) else ""
    assert rendered == f"{expected_team}|{expected_deals}"


def test_a_misspelt_capability_is_false_in_a_template():
    # Templates swallow the AttributeError: a typo hides the button (fails closed).
    rendered = Template("{% if can.manage_memebrs %}shown{% endif %}").render(
        Context({"can": RoleCapabilities(Role.ADMIN)})
    )
    assert rendered == ""


# --- The decorator ----------------------------------------------------------------------------


def test_require_capability_marks_the_view_with_its_capability():
    @require_capability(Capability.WORK_SALES)
    def view(request):
        return "ran"

    assert view.required_capability == Capability.WORK_SALES
    assert view.__name__ == "view"


@pytest.mark.parametrize("role", ROLES)
def test_require_capability_refuses_roles_without_it(rf, role):
    @require_capability(Capability.WORK_SALES)
    def view(request):
        return "ran"

    request = rf.get("/")
    request.membership = type("FakeMembership", (), {"role": role})()
    if role_can(role, Capability.WORK_SALES):
        assert view(request) == "ran"
    else:
        with pytest.raises(PermissionDenied):
            view(request)


def test_require_capability_refuses_a_request_without_membership(rf):
    @require_capability(Capability.VIEW_CUSTOMERS)
    def view(request):
        return "ran"

    with pytest.raises(PermissionDenied):
        view(rf.get("/"))


# --- Every view, every role -------------------------------------------------------------------


@pytest.mark.parametrize(("url", "role"), _cases(ORG_URLS))
def test_each_role_gets_403_exactly_when_the_matrix_says_so(
    url, role, org_a, admin_a, member_of, client_for
):
    # admin_a exists so that a non-admin acting on a member never meets the last-admin rule.
    user = admin_a if role == Role.ADMIN else member_of(org_a, role)
    path = reverse(url.name, kwargs=org_url_kwargs(url, org_a))
    capability = getattr(url.callback, "required_capability", None)
    allowed = capability is None or role_can(role, capability)
    client = client_for(user)

    statuses = {}
    for method in ("get", "post"):
        response = getattr(client, method)(path)  # POST with empty data
        statuses[method] = response.status_code
        if response.status_code == 405:
            continue
        assert response.status_code < 500, f"{method.upper()} {path}"
        if allowed:
            assert response.status_code != 403, f"{role} {method.upper()} {path}"
        else:
            assert response.status_code == 403, f"{role} {method.upper()} {path}"
    assert set(statuses.values()) != {405}, f"{path} accepts neither GET nor POST"


def test_the_walk_sees_the_capability_through_other_decorators():
    by_name = {url.name: url for url in ORG_URLS}
    # member-role is wrapped by require_POST too.
    assert by_name["tenancy:member-role"].callback.required_capability == Capability.MANAGE_MEMBERS
    assert not hasattr(by_name["tenancy:home"].callback, "required_capability")


@pytest.mark.parametrize("role", ROLES)
def test_the_sidebar_shows_team_and_settings_only_to_roles_that_may_use_them(
    role, org_a, member_of, client_for
):
    user = member_of(org_a, role)

    response = client_for(user).get(reverse("tenancy:home", args=[org_a.slug]))

    html = response.content.decode()
    members_link = f'href="{reverse("tenancy:members", args=[org_a.slug])}"'
    settings_link = f'href="{reverse("tenancy:settings", args=[org_a.slug])}"'
    assert response.status_code == 200
    assert (members_link in html) is role_can(role, Capability.MANAGE_MEMBERS)
    assert (settings_link in html) is role_can(role, Capability.MANAGE_SETTINGS)
    assert ("Administration" in html) is (
        role_can(role, Capability.MANAGE_MEMBERS) or role_can(role, Capability.MANAGE_SETTINGS)
    )


def test_the_403_page_explains_the_role_limit(org_a, bob, client_for):
    response = client_for(bob).get(reverse("tenancy:members", args=[org_a.slug]))

    assert response.status_code == 403
    assert "Your role does not allow this" in response.content.decode()
