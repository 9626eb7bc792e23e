"""Every URL of an organization, found by walking the project's resolver, and the registry of
objects its parameters point at.

The cross-tenant and role-matrix tests request every URL under /o/<org_slug>/. A URL that takes
a parameter besides the organization (a pk, a token, a slug) needs an object to point at: add an
entry to URL_OBJECTS with `@url_objects("app:url-name")` on a function that creates the object(s)
in the organization it is given and returns the URL's other keyword arguments. Those tests fail
for a URL that has no entry, so a new view cannot slip past them.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

from tenancy.models import Organization
from tenancy.permissions import Role
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    CustomFieldDefinitionFactory,
    InteractionFactory,
    InvitationFactory,
    MembershipFactory,
    TagFactory,
)

ORG_PREFIX = "o/<slug:org_slug>/"
ORG_PARAM = "org_slug"

ObjectMaker = Callable[[Organization], dict]
URL_OBJECTS: dict[str, ObjectMaker] = {}


def url_objects(*names: str) -> Callable[[ObjectMaker], ObjectMaker]:
    def register(function: ObjectMaker) -> ObjectMaker:
        for name in names:
            URL_OBJECTS[name] = function
        return function

    return register


@dataclass(frozen=True)
class OrgUrl:
    name: str  # namespaced ("tenancy:member-role"); "" when the pattern has none
    route: str  # the whole route, e.g. "o/<slug:org_slug>/members/<int:pk>/role/"
    params: tuple[str, ...]  # every keyword argument but org_slug
    callback: Callable

    @property
    def takes_object(self) -> bool:
        return bool(self.params)

    def __str__(self) -> str:
        return self.name or self.route


_ROUTE_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def _params(pattern) -> list[str]:
    if isinstance(pattern, RoutePattern):
        return _ROUTE_PARAM.findall(str(pattern))
    if isinstance(pattern, RegexPattern):
        return list(pattern.regex.groupindex)
    return []


def _walk(
    patterns, prefix: str, namespaces: tuple[str, ...], params: tuple[str, ...]
) -> Iterator[OrgUrl]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        entry_params = params + tuple(_params(entry.pattern))
        if isinstance(entry, URLResolver):
            inner = namespaces + ((entry.namespace,) if entry.namespace else ())
            yield from _walk(entry.url_patterns, route, inner, entry_params)
        elif isinstance(entry, URLPattern):
            name = ":".join((*namespaces, entry.name)) if entry.name else ""
            yield OrgUrl(
                name=name,
                route=route,
                params=tuple(p for p in entry_params if p != ORG_PARAM),
                callback=entry.callback,
            )


def org_urls() -> list[OrgUrl]:
    """Every URL pattern of the project whose route lives under /o/<org_slug>/."""
    every = _walk(get_resolver().url_patterns, "", (), ())
    return sorted((u for u in every if u.route.startswith(ORG_PREFIX)), key=lambda u: u.route)


def org_url_kwargs(url: OrgUrl, org: Organization) -> dict:
    """The URL's keyword arguments, with the objects it needs created in `org`."""
    if url.takes_object and url.name not in URL_OBJECTS:
        raise LookupError(
            f"{url} ({url.route}) takes {', '.join(url.params)}: add a function that creates its "
            f'object to tests/url_objects.py with @url_objects("{url.name}").'
        )
    kwargs = URL_OBJECTS[url.name](org) if url.takes_object else {}
    return {ORG_PARAM: org.slug, **kwargs}


# --- tenancy ----------------------------------------------------------------------------------


@url_objects("tenancy:member-role", "tenancy:member-remove")
def _a_member(org: Organization) -> dict:
    # A sales rep, so that removing or demoting them never trips the last-admin rule.
    return {"pk": MembershipFactory(organization=org, role=Role.SALES).pk}


@url_objects("tenancy:invitation-revoke")
def _an_invitation(org: Organization) -> dict:
    return {"pk": InvitationFactory(organization=org).pk}


# --- customers --------------------------------------------------------------------------------


@url_objects(
    "customers:customer-detail",
    "customers:customer-edit",
    "customers:interaction-create",
    "customers:contact-create",
)
def _a_customer(org: Organization) -> dict:
    # With a tag, a contact and an interaction, so that every role renders a filled 360 page.
    customer = CustomerFactory(organization=org, tags=[TagFactory(organization=org)])
    InteractionFactory(customer=customer, contact=ContactFactory(customer=customer))
    return {"pk": customer.pk}


@url_objects("customers:contact-detail", "customers:contact-edit", "customers:contact-delete")
def _a_contact(org: Organization) -> dict:
    return {"pk": ContactFactory(customer=CustomerFactory(organization=org)).pk}


@url_objects("customers:custom-field-edit", "customers:custom-field-delete")
def _a_custom_field(org: Organization) -> dict:
    return {"pk": CustomFieldDefinitionFactory(organization=org).pk}


@url_objects("customers:customer-history", "customers:privacy-export", "customers:privacy-erase")
def _a_customer_with_records(org: Organization) -> dict:
    return {"pk": CustomerFactory(organization=org, name="Recorded Person").pk}


@url_objects("customers:contact-history")
def _a_contact_with_history(org: Organization) -> dict:
    return {"pk": ContactFactory(customer=CustomerFactory(organization=org)).pk}


@url_objects("customers:merge-undo")
def _a_merge(org: Organization) -> dict:
    from customers.merge import customers_merge
    from tenancy.context import tenant_context

    survivor = CustomerFactory(organization=org, name="Kept Record")
    merged = CustomerFactory(organization=org, name="Merged Record")
    with tenant_context(org):
        return {"pk": customers_merge(survivor=survivor, merged=merged, choices={}, by=None).pk}


@url_objects(
    "customers:import-detail",
    "customers:import-map",
    "customers:import-run",
    "customers:import-progress",
    "customers:import-report",
    "customers:import-undo",
)
def _an_import(org: Organization) -> dict:
    from tests.factories import ImportBatchFactory

    return {"pk": ImportBatchFactory(organization=org).pk}


@url_objects("customers:export-detail", "customers:export-progress", "customers:export-download")
def _an_export(org: Organization) -> dict:
    # A finished export (the file written), so that every role can reach the download.
    from customers.export_jobs import export_job_run, export_job_start
    from tests.factories import UserFactory

    CustomerFactory(organization=org, name="Exported Person")
    by = UserFactory()
    MembershipFactory(organization=org, user=by, role=Role.MANAGER)
    job, _created = export_job_start(org=org, by=by, query="", fmt="csv")
    export_job_run(org=org, token=job.token)
    return {"token": job.token}


# Apps keep their entries in modules of their own, imported here so the registry is complete.
import tests.analytics.url_objects  # noqa: E402
import tests.sales.url_objects  # noqa: E402, F401
