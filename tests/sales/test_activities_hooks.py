"""What activities adds to other pages: the "My tasks" home panel, the customer page's button and
timeline, merges; and the task form's record search."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.merge import customers_merge
from sales.models import Task
from tenancy.context import tenant_context
from tenancy.permissions import Capability, Role, role_can
from tests.factories import CustomerFactory
from tests.sales.factories_activities import (
    LeadFactory,
    OpportunityFactory,
    StageFactory,
    TaskFactory,
)

PANEL = "My tasks for today"


def _home(client, org):
    return client.get(reverse("tenancy:home", args=[org.slug]))


def _panel(response) -> dict | None:
    return next((p.context for p in response.context["panels"] if p.title == PANEL), None)


# --- Home panel -------------------------------------------------------------------------------


def test_my_tasks_panel_shows_what_is_due_today_or_overdue(org_a, bob, alice, client_for):
    now = timezone.now()
    TaskFactory(organization=org_a, title="Overdue", assignee=bob, due_at=now - timedelta(days=2))
    TaskFactory(organization=org_a, title="Now", assignee=bob, due_at=now)
    TaskFactory(organization=org_a, title="Next week", assignee=bob, due_at=now + timedelta(days=7))
    TaskFactory(organization=org_a, title="Done", assignee=bob, due_at=now, completed_at=now)
    TaskFactory(organization=org_a, title="Alice's", assignee=alice, due_at=now)

    response = _home(client_for(bob), org_a)

    assert [t.title for t in _panel(response)["tasks"]] == ["Overdue", "Now"]
    assert 'data-testid="home-my-tasks"' in response.content.decode()


def test_my_tasks_panel_is_capped(org_a, bob, client_for):
    for n in range(12):
        TaskFactory(organization=org_a, assignee=bob, due_at=timezone.now() - timedelta(hours=n))

    panel = _panel(_home(client_for(bob), org_a))

    assert len(panel["tasks"]) == 8 and panel["more"]


@pytest.mark.parametrize("role", list(Role))
def test_my_tasks_panel_is_for_roles_that_work_sales(role, org_a, member_of, client_for):
    user = member_of(org_a, role)

    panel = _panel(_home(client_for(user), org_a))

    assert (panel is not None) is role_can(role, Capability.WORK_SALES)


# --- The customer page ------------------------------------------------------------------------


def test_the_customer_page_offers_to_add_a_task_to_sales_roles(org_a, bob, carol, client_for):
    customer = CustomerFactory(organization=org_a)
    url = reverse("customers:customer-detail", args=[org_a.slug, customer.pk])
    add = reverse("sales:task-create", args=[org_a.slug]) + f"?customer={customer.pk}"

    assert add in client_for(bob).get(url).content.decode()
    assert add not in client_for(carol).get(url).content.decode()


def test_the_customer_timeline_shows_its_tasks(org_a, bob, client_for):
    customer = CustomerFactory(organization=org_a)
    other = CustomerFactory(organization=org_a)
    now = timezone.now()
    TaskFactory(
        organization=org_a,
        customer=customer,
        title="Upcoming visit",
        assignee=bob,
        due_at=now + timedelta(days=2),
    )
    TaskFactory(
        organization=org_a,
        customer=customer,
        title="Missed call",
        assignee=bob,
        due_at=now - timedelta(days=2),
    )
    TaskFactory(
        organization=org_a,
        customer=customer,
        title="Sent offer",
        assignee=bob,
        due_at=now - timedelta(days=3),
        completed_at=now,
    )
    TaskFactory(organization=org_a, customer=other, title="Someone else's", assignee=bob)

    response = client_for(bob).get(
        reverse("customers:customer-detail", args=[org_a.slug, customer.pk])
    )

    tasks = [(e.title, e.badge) for e in response.context["entries"] if e.kind == "task"]
    assert tasks == [
        ("Upcoming visit", "Task"),
        ("Missed call", "Task overdue"),
        ("Sent offer", "Task done"),
    ]
    assert "Someone else's" not in response.content.decode()


def test_a_merge_moves_the_tasks_to_the_surviving_customer(org_a, bob):
    survivor = CustomerFactory(organization=org_a, name="Kept")
    merged = CustomerFactory(organization=org_a, name="Gone")
    task = TaskFactory(organization=org_a, customer=merged, assignee=bob)

    with tenant_context(org_a):
        customers_merge(survivor=survivor, merged=merged, choices={}, by=bob)
        assert Task.objects.get(pk=task.pk).customer_id == survivor.pk


# --- The task form's record search ------------------------------------------------------------


def _search(client, org, kind: str, q: str):
    url = reverse("sales:task-related-search", args=[org.slug])
    return client.get(url, {"kind": kind, "q": q}, headers={"HX-Request": "true"})


def _labels(response) -> list[str]:
    return [option.label for option in response.context["options"]]


def test_it_finds_customers_of_this_organization_only(org_a, org_b, bob, client_for):
    CustomerFactory(organization=org_a, name="Acme Foods")
    CustomerFactory(organization=org_a, name="Zenith")
    CustomerFactory(organization=org_b, name="Acme Beta")

    response = _search(client_for(bob), org_a, "customer", "acme")

    assert _labels(response) == ["Acme Foods"]
    assert "data-related-pick" in response.content.decode()


def test_it_finds_open_opportunities_and_leads_by_the_start_of_their_names(
    org_a, org_b, bob, client_for
):
    OpportunityFactory(organization=org_a, name="Website redesign")
    lost = StageFactory(organization=org_a, is_lost=True)
    OpportunityFactory(
        organization=org_a, name="Website hosting", stage=lost, pipeline=lost.pipeline
    )
    OpportunityFactory(organization=org_b, name="Website beta")
    LeadFactory(organization=org_a, first_name="Wendy", last_name="Webb", company="Webb & Co")
    LeadFactory(organization=org_a, first_name="Tom", last_name="Tully", company="Websites Ltd")
    LeadFactory(organization=org_b, first_name="Wes", last_name="Web", company="Beta")
    client = client_for(bob)

    assert _labels(_search(client, org_a, "opportunity", "webs")) == ["Website redesign"]
    assert _labels(_search(client, org_a, "lead", "web")) == ["Tom Tully", "Wendy Webb"]


@pytest.mark.parametrize(
    ("kind", "q"),
    [("customer", ""), ("planet", "acme"), ("", ""), ("lead", "   "), ("customer", "%_\\'" * 60)],
)
def test_odd_searches_answer_nothing_rather_than_fail(kind, q, org_a, bob, client_for):
    CustomerFactory(organization=org_a, name="Acme Foods")

    response = _search(client_for(bob), org_a, kind, q)

    assert response.status_code == 200
    assert _labels(response) == []


def test_the_search_is_for_sales_roles(org_a, carol, client_for):
    assert _search(client_for(carol), org_a, "customer", "a").status_code == 403
