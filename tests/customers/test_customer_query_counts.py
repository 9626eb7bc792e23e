"""The customer pages cost the same number of queries whatever the data (no N+1).

Counts are pinned exactly, per database; PostgreSQL adds the two `set_config` statements that
set and reset the tenant. A change here is a change in the page's cost: make it on purpose.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from analytics.models import CustomerScore
from customers.models import Contact, Customer, CustomerTag, Interaction
from tenancy.context import tenant_context
from tenancy.permissions import Role
from tests.customers.conftest import HTMX
from tests.factories import CustomFieldDefinitionFactory, TagFactory

# list: session, user, organization, [set tenant], savepoint, membership, custom fields, the
#   page, its tags, the capped count, [the organization switcher, the filter form's owners and
#   tags], the bulk form's owners (count and rows), release, [reset tenant].
# detail: ... the customer, the timeline, contacts, tags, custom fields, history, the switcher,
#   the quick-log form's contacts (count and rows).
# Full pages also count the bell's unread notifications (+1); the timeline asks each of its
# sources once (interactions, and sales' tasks, orders, quotes, converted leads and
# opportunities: +5 on the detail page and "show older").
# The filter form's owners and tags are looked up only when the panel is rendered: with the page
# when one of its filters is in use (the list's URL above has one), otherwise when it opens
# ("panel": session, user, organization, [set tenant], savepoint, membership, custom fields,
# owners, tags, release, [reset tenant]).
# A text search: the page and its count, on PostgreSQL the matches' ids and the page
# (customers.selectors._text_search_rows), the same number either way; no panel. A tag alone:
# the page and its count (on PostgreSQL from the tag's links: customers.selectors._tag_count),
# and the filter form's lookup of the tag.
EXPECTED = {
    "sqlite": {
        "list": 16,
        "list htmx": 12,
        "search": 14,
        "tag": 17,
        "panel": 9,
        "detail": 21,
        "timeline": 13,
        "contact": 12,
    },
    # The list's URL has a custom-field filter: on PostgreSQL its matches are looked up first
    # (customers.filters.custom_value_filter), one query more.
    "postgresql": {
        "list": 19,
        "list htmx": 15,
        "search": 16,
        "tag": 19,
        "panel": 11,
        "detail": 23,
        "timeline": 15,
        "contact": 14,
    },
}


def _expected(page: str) -> int:
    return EXPECTED[connection.vendor][page]


def _populate_customers(org, owners, *, customers: int) -> None:
    """Customers with owners, two tags each and custom values, plus custom field definitions."""
    tags = [TagFactory(organization=org, name=f"Tag {n}") for n in range(4)]
    CustomFieldDefinitionFactory(
        organization=org, key="tier", label="Tier", field_type="choice", choices=["A", "B"]
    )
    CustomFieldDefinitionFactory(organization=org, key="seats", label="Seats", field_type="number")
    now = timezone.now()
    with tenant_context(org):
        rows = Customer.objects.bulk_create(
            [
                Customer(
                    organization=org,
                    name=f"Customer {n:03d}",
                    email=f"c{n}@example.com",
                    owner=owners[n % len(owners)],
                    custom={"tier": "AB"[n % 2], "seats": n},
                    created_at=now - timedelta(minutes=n),
                )
                for n in range(customers)
            ]
        )
        CustomerScore.objects.bulk_create(
            [
                CustomerScore(organization=org, customer=c, rfm_segment="loyal", clv=n * 10)
                for n, c in enumerate(rows)
                if n % 3
            ]
        )
        CustomerTag.objects.bulk_create(
            [
                CustomerTag(organization=org, customer=c, tag=tag)
                for n, c in enumerate(rows)
                for tag in (tags[n % 4], tags[(n + 1) % 4])
            ]
        )


@pytest.mark.parametrize("customers", [5, 60])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_the_customer_list_costs_the_same_queries_whatever_the_data(
    customers, htmx, org_a, alice, bob, carol, client_for, django_assert_num_queries
):
    _populate_customers(org_a, [alice, bob, carol], customers=customers)
    client = client_for(alice)
    url = reverse("customers:customer-list", args=[org_a.slug]) + "?sort=name&cf_tier=A"
    client.get(url)  # the first visit records the organization in the session

    with django_assert_num_queries(_expected("list htmx" if htmx else "list")):
        response = client.get(url, headers=HTMX if htmx else {})

    assert response.status_code == 200
    assert len(response.context["page"].items) == min((customers + 1) // 2, 50)


@pytest.mark.parametrize("customers", [5, 60])
def test_a_tag_filter_costs_the_same_queries_whatever_the_data(
    customers, org_a, alice, bob, carol, client_for, django_assert_num_queries, monkeypatch
):
    from crm_site import pagination

    monkeypatch.setattr(pagination, "COUNT_CAP", 20)  # 60 customers: past the cap
    _populate_customers(org_a, [alice, bob, carol], customers=customers)
    with tenant_context(org_a):
        tag = CustomerTag.objects.order_by("pk").first().tag
        tagged = CustomerTag.objects.filter(tag=tag).count()
    client = client_for(alice)
    url = reverse("customers:customer-list", args=[org_a.slug]) + f"?tag={tag.pk}"
    client.get(url)

    with django_assert_num_queries(_expected("tag")):
        response = client.get(url)

    assert len(response.context["page"].items) == min(tagged, 50)
    assert response.context["page"].total == min(tagged, 21)


@pytest.mark.parametrize("customers", [5, 60])
def test_a_text_search_costs_the_same_queries_with_few_or_many_matches(
    customers, org_a, alice, bob, carol, client_for, django_assert_num_queries, monkeypatch
):
    # 5 matches: the page among the matches' ids; 60, past the (lowered) cap: the page's own
    # query with the search condition.
    from crm_site import pagination

    monkeypatch.setattr(pagination, "SEARCH_COUNT_CAP", 20)
    _populate_customers(org_a, [alice, bob, carol], customers=customers)
    client = client_for(alice)
    url = reverse("customers:customer-list", args=[org_a.slug]) + "?q=customer"
    client.get(url)

    with django_assert_num_queries(_expected("search")):
        response = client.get(url)

    assert len(response.context["page"].items) == min(customers, 50)


@pytest.mark.parametrize("customers", [5, 60])
def test_the_filter_panel_costs_the_same_queries_whatever_the_data(
    customers, org_a, alice, bob, carol, client_for, django_assert_num_queries
):
    _populate_customers(org_a, [alice, bob, carol], customers=customers)
    client = client_for(alice)
    url = reverse("customers:customer-filter-panel", args=[org_a.slug])
    client.get(url, headers=HTMX)

    with django_assert_num_queries(_expected("panel")):
        response = client.get(url, headers=HTMX)

    assert response.status_code == 200
    assert 'name="cf_tier"' in response.content.decode()


def _populate_customer(org, user, *, interactions: int, contacts: int) -> Customer:
    tags = [TagFactory(organization=org, name=f"Tag {n}") for n in range(3)]
    CustomFieldDefinitionFactory(organization=org, key="tier", label="Tier")
    now = timezone.now()
    with tenant_context(org):
        customer = Customer.objects.create(
            organization=org, name="Busy", owner=user, custom={"tier": "Gold"}
        )
        CustomerTag.objects.bulk_create(
            [CustomerTag(organization=org, customer=customer, tag=t) for t in tags]
        )
        people = Contact.objects.bulk_create(
            [
                Contact(organization=org, customer=customer, first_name=f"P{n}", title="CFO")
                for n in range(contacts)
            ]
        )
        Interaction.objects.bulk_create(
            [
                Interaction(
                    organization=org,
                    customer=customer,
                    contact=people[n % len(people)],
                    user=user,
                    channel="phone",
                    subject=f"Call {n}",
                    occurred_at=now - timedelta(hours=n),
                )
                for n in range(interactions)
            ]
        )
    return customer


@pytest.mark.parametrize(("interactions", "contacts"), [(2, 2), (40, 40)])
def test_the_customer_page_costs_the_same_queries_whatever_the_data(
    interactions, contacts, org_a, bob, client_for, django_assert_num_queries
):
    customer = _populate_customer(org_a, bob, interactions=interactions, contacts=contacts)
    # Some history, by several people.
    from customers import services

    with tenant_context(org_a):
        for n in range(interactions // 2):
            services.customer_update(customer=customer, by=bob, data={"city": f"City {n}"})
    client = client_for(bob)
    url = customer.get_absolute_url()
    client.get(url)

    with django_assert_num_queries(_expected("detail")):
        response = client.get(url)

    assert response.status_code == 200
    assert len(response.context["contacts"]) == contacts


@pytest.mark.parametrize("interactions", [30, 70])
def test_show_older_costs_the_same_queries_whatever_the_data(
    interactions, org_a, bob, client_for, django_assert_num_queries
):
    customer = _populate_customer(org_a, bob, interactions=interactions, contacts=3)
    client = client_for(bob)
    url = customer.get_absolute_url()
    token = client.get(url).context["next_token"]

    with django_assert_num_queries(_expected("timeline")):
        response = client.get(
            f"{url}?before={token}", headers={**HTMX, "HX-Target": "timeline-more"}
        )

    assert len(response.context["entries"]) == min(interactions - 25, 25)


@pytest.mark.parametrize("interactions", [2, 40])
def test_the_contact_page_costs_the_same_queries_whatever_the_data(
    interactions, org_a, bob, member_of, client_for, django_assert_num_queries
):
    customer = _populate_customer(org_a, bob, interactions=interactions, contacts=1)
    others = [member_of(org_a, Role.SALES) for _ in range(3)]
    with tenant_context(org_a):
        contact = Contact.objects.get()
        Interaction.objects.filter(customer=customer).update(user=others[0])
    client = client_for(bob)
    url = reverse("customers:contact-detail", args=[org_a.slug, contact.pk])
    client.get(url)

    with django_assert_num_queries(_expected("contact")):
        response = client.get(url)

    assert response.status_code == 200
