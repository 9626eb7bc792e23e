"""What the customers app adds to the home page: my customers and my latest interactions."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from tenancy.context import tenant_context
from tests.factories import CustomerFactory, InteractionFactory


def _home(client, org):
    return client.get(reverse("tenancy:home", args=[org.slug]))


def _panel(response, title: str) -> dict:
    [panel] = [p for p in response.context["panels"] if p.title == title]
    return panel.context


def test_my_customers_lists_the_users_most_recently_updated_customers(
    org_a, org_b, bob, alice, mallory, client_for
):
    now = timezone.now()
    mine = [CustomerFactory(organization=org_a, name=f"Mine {n}", owner=bob) for n in range(10)]
    for n, customer in enumerate(mine):
        with tenant_context(org_a):
            Customer.objects.filter(pk=customer.pk).update(updated_at=now - timedelta(hours=n))
    CustomerFactory(organization=org_a, name="Alice's", owner=alice)
    CustomerFactory(organization=org_a, name="Nobody's")
    merged = CustomerFactory(organization=org_a, name="Merged away", owner=bob)
    with tenant_context(org_a):
        Customer.objects.filter(pk=merged.pk).update(merged_into=mine[0], updated_at=now)
    CustomerFactory(organization=org_b, name="Foreign", owner=bob)

    response = _home(client_for(bob), org_a)

    names = [c.name for c in _panel(response, "My customers")["customers"]]
    assert names == [f"Mine {n}" for n in range(8)]
    html = response.content.decode()
    assert "Mine 0" in html and "Foreign" not in html
    assert reverse("customers:customer-list", args=[org_a.slug]) + "?mine=true" in html


def test_my_customers_invites_to_browse_when_empty(org_a, bob, client_for):
    html = _home(client_for(bob), org_a).content.decode()

    assert "No customers are assigned to you yet." in html


def test_my_interactions_lists_the_users_latest_interactions(org_a, bob, alice, client_for):
    customer = CustomerFactory(organization=org_a, name="Acme Foods")
    now = timezone.now()
    for n in range(8):
        InteractionFactory(
            customer=customer, user=bob, subject=f"Call {n}", occurred_at=now - timedelta(days=n)
        )
    InteractionFactory(customer=customer, user=alice, subject="Alice's call", occurred_at=now)

    response = _home(client_for(bob), org_a)

    subjects = [i.subject for i in _panel(response, "My latest interactions")["interactions"]]
    assert subjects == [f"Call {n}" for n in range(6)]
    html = response.content.decode()
    assert "Acme Foods" in html
    assert "Alice&#x27;s call" not in html


def test_my_interactions_explains_how_to_log_one_when_empty(org_a, bob, client_for):
    html = _home(client_for(bob), org_a).content.decode()

    assert "You have not logged any interactions yet." in html


@pytest.mark.parametrize("role_fixture", ["alice", "bob", "carol", "marketer", "admin_a"])
def test_every_role_sees_both_panels(org_a, client_for, request, role_fixture):
    user = request.getfixturevalue(role_fixture)

    response = _home(client_for(user), org_a)

    titles = [p.title for p in response.context["panels"]]
    assert {"My customers", "My latest interactions"} <= set(titles)
    assert titles.index("My customers") < titles.index("My latest interactions")
