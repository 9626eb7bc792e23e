"""The walk: every URL of an organization refuses other tenants' objects with 404.

The URLs come from the project's resolver (tests/url_objects.py), so a new view is covered as
soon as it is routed; one that takes an object parameter fails here until it has an entry in
URL_OBJECTS.
"""

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from tenancy.context import tenant_context
from tenancy.models import Membership, Organization, TenantModel
from tenancy.permissions import Role
from tests.factories import ActivityEventFactory, InvitationFactory
from tests.url_objects import URL_OBJECTS, OrgUrl, org_url_kwargs, org_urls

ORG_URLS = org_urls()
OBJECT_URLS = [url for url in ORG_URLS if url.takes_object]
METHODS = ("get", "post")


def _ids(urls: list[OrgUrl]) -> list[str]:
    return [str(url) for url in urls]


def tenant_rows(org: Organization) -> dict[str, list[dict]]:
    """Every tenant-owned row of `org`, model by model, to show that a request changed none."""
    rows = {}
    with tenant_context(org):
        for model in apps.get_models():
            if issubclass(model, TenantModel):
                rows[model._meta.label] = list(
                    model.unscoped.filter(organization=org).order_by("pk").values()
                )
    return rows


def _request(client: Client, method: str, path: str):
    return getattr(client, method)(path)


def _assert_not_found_or_not_allowed(client: Client, path: str) -> None:
    """404 for every method the view accepts; the others may only answer 405."""
    statuses = {}
    for method in METHODS:
        response = _request(client, method, path)
        statuses[method] = response.status_code
        if response.status_code == 405:
            assert method.upper() not in response["Allow"], path
        else:
            assert response.status_code == 404, f"{method.upper()} {path}: {response.status_code}"
    assert 404 in statuses.values(), f"{path} accepts neither GET nor POST: {statuses}"


def test_the_walk_finds_the_organization_urls():
    names = {url.name for url in ORG_URLS}
    assert {"tenancy:home", "tenancy:members", "tenancy:settings"} <= names
    assert {"tenancy:member-role", "tenancy:member-remove", "tenancy:invitation-revoke"} <= set(
        _ids(OBJECT_URLS)
    )


def test_every_organization_url_has_a_name():
    assert [url.route for url in ORG_URLS if not url.name] == []


def test_every_url_with_an_object_parameter_is_in_the_registry():
    # A new URL that takes a pk, a token or a slug must say how to make its object, or the walk
    # below would not cover it; a registry entry for a URL that no longer exists is stale.
    assert set(_ids(OBJECT_URLS)) == set(URL_OBJECTS)


@pytest.mark.parametrize("url", OBJECT_URLS, ids=_ids(OBJECT_URLS))
def test_it_answers_404_for_another_organizations_object_in_ones_own_organization(
    url, org_a, org_b, admin_a, mallory, client_for
):
    kwargs = org_url_kwargs(url, org_b)
    before = tenant_rows(org_b)
    path = reverse(url.name, kwargs={**kwargs, "org_slug": org_a.slug})

    _assert_not_found_or_not_allowed(client_for(admin_a), path)

    assert tenant_rows(org_b) == before


@pytest.mark.parametrize("url", OBJECT_URLS, ids=_ids(OBJECT_URLS))
def test_it_answers_404_for_another_organizations_object_at_its_own_address(
    url, org_a, org_b, admin_a, mallory, client_for
):
    path = reverse(url.name, kwargs=org_url_kwargs(url, org_b))
    before = tenant_rows(org_b)
    client = client_for(admin_a)

    for method in METHODS:
        assert _request(client, method, path).status_code == 404, f"{method.upper()} {path}"

    assert tenant_rows(org_b) == before


@pytest.mark.parametrize("url", ORG_URLS, ids=_ids(ORG_URLS))
def test_it_answers_404_never_403_to_a_non_member(url, org_b, mallory, outsider, client_for):
    path = reverse(url.name, kwargs=org_url_kwargs(url, org_b))
    before = tenant_rows(org_b)
    client = client_for(outsider)

    for method in METHODS:
        assert _request(client, method, path).status_code == 404, f"{method.upper()} {path}"

    assert tenant_rows(org_b) == before


@pytest.mark.parametrize("url", ORG_URLS, ids=_ids(ORG_URLS))
def test_it_answers_404_for_an_organization_that_does_not_exist(url, org_b, admin_a, client_for):
    kwargs = {**org_url_kwargs(url, org_b), "org_slug": "no-such-org"}
    path = reverse(url.name, kwargs=kwargs)
    client = client_for(admin_a)

    for method in METHODS:
        assert _request(client, method, path).status_code == 404, f"{method.upper()} {path}"


@pytest.mark.parametrize("org_exists", [True, False], ids=["existing", "missing"])
@pytest.mark.parametrize("url", ORG_URLS, ids=_ids(ORG_URLS))
def test_it_sends_anonymous_visitors_to_the_login_page(url, org_exists, org_b, client):
    kwargs = org_url_kwargs(url, org_b)
    if not org_exists:
        kwargs["org_slug"] = "no-such-org"
    path = reverse(url.name, kwargs=kwargs)
    before = tenant_rows(org_b)

    for method in METHODS:
        response = _request(client, method, path)
        assert response.status_code == 302, f"{method.upper()} {path}"
        assert response["Location"].startswith(reverse("login") + "?next="), path

    assert tenant_rows(org_b) == before


@pytest.fixture
def two_busy_orgs(org_a, org_b, admin_a, mallory, member_of):
    """Both organizations with members, invitations and activity, B's all recognisable."""
    member_of(org_a, Role.SALES, email="seller@a.example", full_name="Sally Seller")
    member_of(org_b, Role.SALES, email="spy@b.example", full_name="Bartholomew Beta")
    InvitationFactory(organization=org_a, email="invitee@a.example")
    InvitationFactory(organization=org_b, email="invitee@b.example")
    ActivityEventFactory(organization=org_a, actor=admin_a, target="Alpha Event Target")
    ActivityEventFactory(organization=org_b, actor=mallory, target="Beta Event Target")


B_MARKERS = (
    "Beta Test",
    "org-b",
    "mallory@b.example",
    "Mallory Admin",
    "spy@b.example",
    "Bartholomew Beta",
    "invitee@b.example",
    "Beta Event Target",
)


def test_it_hides_other_organizations_members(two_busy_orgs, org_a, admin_a, client_for):
    response = client_for(admin_a).get(reverse("tenancy:members", args=[org_a.slug]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "seller@a.example" in html
    assert "invitee@a.example" in html
    assert [marker for marker in B_MARKERS if marker in html] == []


def test_it_hides_other_organizations_activity(two_busy_orgs, org_a, admin_a, client_for):
    response = client_for(admin_a).get(reverse("tenancy:home", args=[org_a.slug]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Alpha Event Target" in html
    assert [marker for marker in B_MARKERS if marker in html] == []


def test_it_hides_other_organizations_settings(two_busy_orgs, org_a, admin_a, client_for):
    response = client_for(admin_a).get(reverse("tenancy:settings", args=[org_a.slug]))

    html = response.content.decode()
    assert response.status_code == 200
    assert [marker for marker in B_MARKERS if marker in html] == []


def test_it_does_not_accept_another_organizations_invitation_under_ones_own_address(
    org_a, org_b, client
):
    invitation = InvitationFactory(organization=org_b, email="new@person.example")

    path = reverse("invitation-accept", args=[org_a.slug, invitation.token])
    response = client.post(
        path, {"full_name": "New Person", "password1": "a-Strong-pass-42", "password2": "x"}
    )

    assert response.status_code == 404
    with tenant_context(org_b):
        assert Membership.objects.count() == 0
