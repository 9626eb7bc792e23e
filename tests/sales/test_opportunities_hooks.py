"""What opportunities add elsewhere: home panels, the customer timeline, customer merges and
global search."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.merge import customers_merge, merge_undo
from customers.timeline import customer_timeline
from sales.hooks.opportunities import opportunity_search
from sales.models import Opportunity
from tenancy.context import tenant_context
from tests.factories import CustomerFactory
from tests.sales.conftest_opportunities import *  # noqa: F403  (fixtures)
from tests.sales.factories_opportunities import (
    OpportunityFactory,
    default_pipeline,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tenant_reads_as_org_a")]


def _home(org):
    return reverse("tenancy:home", args=[org.slug])


# --- Home panels -------------------------------------------------------------------------------


def test_a_rep_sees_their_pipeline_and_hot_deals_closing_this_month(
    org_a, alice, bob, stages_a, client_for
):
    today = timezone.localdate()
    OpportunityFactory(
        stage=stages_a[4], owner=bob, amount=Decimal("4000"), close_date=today, name="Hot one"
    )
    OpportunityFactory(
        stage=stages_a[1],
        owner=bob,
        amount=Decimal("1000"),
        close_date=today + timedelta(days=70),
        name="Later one",
    )
    OpportunityFactory(stage=stages_a[4], owner=alice, close_date=today, name="Alices deal")

    response = client_for(bob).get(_home(org_a))

    html = response.content.decode()
    assert "My pipeline" in html
    assert "Hot one" in html and "Later one" not in html and "Alices deal" not in html
    assert "5,000" in html  # 4000 + 1000 open
    assert "Sales forecast" not in html


def test_managers_also_see_the_quarters_forecast(org_a, alice, stages_a, client_for):
    response = client_for(alice).get(_home(org_a))

    html = response.content.decode()
    assert "Sales forecast" in html and "My pipeline" in html


@pytest.mark.parametrize("role", ["support", "marketing"])
def test_roles_outside_sales_see_no_sales_panels(role, org_a, member_of, client_for):
    html = client_for(member_of(org_a, role)).get(_home(org_a)).content.decode()

    assert "My pipeline" not in html and "Sales forecast" not in html


# --- Customer timeline ------------------------------------------------------------------------


def test_the_customer_timeline_shows_the_customers_opportunities(org_a, stages_a):
    customer = CustomerFactory(organization=org_a)
    now = timezone.now()
    older = OpportunityFactory(
        stage=stages_a[5], customer=customer, created_at=now - timedelta(days=3)
    )
    newer = OpportunityFactory(stage=stages_a[1], customer=customer, created_at=now)
    OpportunityFactory(stage=stages_a[1])  # another customer's

    with tenant_context(org_a):
        entries, _cursor = customer_timeline(customer=customer, kinds=["opportunity"])

    assert [e.pk for e in entries] == [newer.pk, older.pk]
    assert entries[1].badge == "Closed won" and entries[1].badge_tone == "success"
    assert entries[0].url == newer.get_absolute_url()


def test_the_timeline_pages_through_opportunities(org_a, stages_a):
    customer = CustomerFactory(organization=org_a)
    now = timezone.now()
    for n in range(5):
        OpportunityFactory(
            stage=stages_a[0], customer=customer, created_at=now - timedelta(hours=n)
        )

    with tenant_context(org_a):
        first, cursor = customer_timeline(customer=customer, kinds=["opportunity"], limit=3)
        second, end = customer_timeline(
            customer=customer, kinds=["opportunity"], before=cursor, limit=3
        )

    assert len(first) == 3 and len(second) == 2 and end is None


def test_the_customer_page_lists_opportunities_on_its_timeline(org_a, bob, stages_a, client_for):
    opportunity = OpportunityFactory(stage=stages_a[0], name="Timeline deal")

    response = client_for(bob).get(opportunity.customer.get_absolute_url())

    assert "Timeline deal" in response.content.decode()


# --- Customer merges --------------------------------------------------------------------------


def test_a_merge_moves_opportunities_to_the_survivor_and_an_undo_moves_them_back(org_a, stages_a):
    survivor = CustomerFactory(organization=org_a, name="Keep")
    merged = CustomerFactory(organization=org_a, name="Dupe")
    opportunity = OpportunityFactory(stage=stages_a[0], customer=merged)

    with tenant_context(org_a):
        merge = customers_merge(survivor=survivor, merged=merged, choices={}, by=None)
        assert Opportunity.objects.get(pk=opportunity.pk).customer == survivor
        merge_undo(merge=merge, by=None)
        assert Opportunity.objects.get(pk=opportunity.pk).customer == merged


# --- Global search ----------------------------------------------------------------------------


def test_search_finds_opportunities_by_name_prefix_first(org_a, org_b, stages_a):
    OpportunityFactory(stage=stages_a[0], name="Expansion for Renew Corp")
    OpportunityFactory(stage=stages_a[0], name="Renewal 2026")
    _pipeline, stages_b = default_pipeline(org_b)
    OpportunityFactory(stage=stages_b[0], name="Renewal of the other org")

    with tenant_context(org_a):
        found = [o.name for o in opportunity_search(org=org_a, query="renew", limit=5)]

    assert found == ["Renewal 2026", "Expansion for Renew Corp"]


@pytest.mark.parametrize(("role", "shown"), [("sales", True), ("support", False)])
def test_the_search_page_shows_opportunities_to_sales_roles(
    role, shown, org_a, member_of, stages_a, client_for
):
    OpportunityFactory(stage=stages_a[0], name="Zanzibar upgrade")

    response = client_for(member_of(org_a, role)).get(
        reverse("search", args=[org_a.slug]) + "?q=zanzibar"
    )

    assert ("Zanzibar upgrade" in response.content.decode()) is shown
