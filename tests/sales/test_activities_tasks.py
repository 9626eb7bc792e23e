"""Tasks: create, read, edit, delete, complete and reopen; who may, and for which organization."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from sales.models import Task
from tenancy.context import tenant_context
from tenancy.permissions import Capability, Role, role_can
from tests.factories import CustomerFactory
from tests.sales.factories_activities import LeadFactory, OpportunityFactory, TaskFactory

HTMX = {"HX-Request": "true"}


def _url(name: str, org, **kwargs) -> str:
    return reverse(f"sales:{name}", kwargs={"org_slug": org.slug, **kwargs})


def _due(days: int = 1) -> str:
    return timezone.localtime(timezone.now() + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def _tasks(org) -> list[Task]:
    with tenant_context(org):
        return list(Task.objects.order_by("pk"))


# --- Create -----------------------------------------------------------------------------------


def test_it_creates_a_task_about_a_customer_for_a_colleague(org_a, bob, alice, client_for):
    customer = CustomerFactory(organization=org_a, name="Acme Foods")

    response = client_for(bob).post(
        _url("task-create", org_a),
        {
            "title": "Call about renewal",
            "due_at": _due(2),
            "priority": "high",
            "assignee": alice.pk,
            "customer": customer.pk,
            "remind_at": _due(1),
            "description": "Ask about the new site.",
        },
    )

    [task] = _tasks(org_a)
    assert response.status_code == 302
    assert response["Location"] == _url("task-detail", org_a, pk=task.pk)
    assert (task.title, task.priority, task.assignee, task.created_by) == (
        "Call about renewal",
        "high",
        alice,
        bob,
    )
    assert task.customer_id == customer.pk and task.remind_at is not None
    assert task.completed_at is None and task.reminded_at is None


def test_a_task_about_an_opportunity_is_about_its_customer_too(org_a, bob, client_for):
    opportunity = OpportunityFactory(organization=org_a)

    client_for(bob).post(
        _url("task-create", org_a),
        {
            "title": "Send the proposal",
            "due_at": _due(),
            "priority": "normal",
            "assignee": bob.pk,
            "opportunity": opportunity.pk,
        },
    )

    [task] = _tasks(org_a)
    assert task.opportunity_id == opportunity.pk
    assert task.customer_id == opportunity.customer_id


def test_the_form_starts_with_the_customer_it_was_opened_from(org_a, bob, client_for):
    customer = CustomerFactory(organization=org_a, name="Prefilled Inc")
    back = reverse("customers:customer-detail", args=[org_a.slug, customer.pk])

    response = client_for(bob).get(
        _url("task-create", org_a) + f"?customer={customer.pk}&next={back}"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert f'name="customer" value="{customer.pk}"' in html
    assert 'value="Prefilled Inc"' in html
    assert f'name="next" value="{back}"' in html


def test_it_goes_back_to_the_page_it_came_from_but_never_off_site(org_a, bob, client_for):
    customer = CustomerFactory(organization=org_a)
    back = reverse("customers:customer-detail", args=[org_a.slug, customer.pk])
    data = {"title": "Follow up", "due_at": _due(), "priority": "normal", "assignee": bob.pk}
    client = client_for(bob)

    assert client.post(_url("task-create", org_a), {**data, "next": back})["Location"] == back
    offsite = client.post(_url("task-create", org_a), {**data, "next": "https://evil.example/"})
    assert offsite["Location"].startswith(_url("task-list", org_a))


def test_the_form_never_lists_every_customer(org_a, bob, client_for):
    for n in range(5):
        CustomerFactory(organization=org_a, name=f"Listed {n}")

    html = client_for(bob).get(_url("task-create", org_a)).content.decode()

    assert "Listed 0" not in html
    assert "data-related-search" in html


@pytest.mark.parametrize(
    "field", ["customer", "opportunity", "lead", "assignee"], ids=lambda f: f"foreign-{f}"
)
def test_it_refuses_records_and_people_of_another_organization(
    field, org_a, org_b, bob, mallory, client_for
):
    foreign = {
        "customer": lambda: CustomerFactory(organization=org_b).pk,
        "opportunity": lambda: OpportunityFactory(organization=org_b).pk,
        "lead": lambda: LeadFactory(organization=org_b).pk,
        "assignee": lambda: mallory.pk,
    }[field]()
    data = {"title": "Sneaky", "due_at": _due(), "priority": "normal", "assignee": bob.pk}

    response = client_for(bob).post(_url("task-create", org_a), {**data, field: foreign})

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert _tasks(org_a) == [] and _tasks(org_b) == []


def test_only_members_who_work_sales_can_be_given_a_task(org_a, bob, carol, client_for):
    data = {"title": "For support", "due_at": _due(), "priority": "normal", "assignee": carol.pk}

    response = client_for(bob).post(_url("task-create", org_a), data)

    assert response.status_code == 400 and "assignee" in response.context["form"].errors
    assert carol not in response.context["form"].fields["assignee"].queryset


@pytest.mark.parametrize(
    "bad",
    [
        {"title": ""},
        {"due_at": "not a date"},
        {"due_at": "2024-02-30T10:00"},
        {"priority": "urgent"},
        {"assignee": "abc"},
        {"customer": "1 OR 1=1"},
        {"remind_at": "99999-01-01T00:00"},
    ],
    ids=lambda bad: next(iter(bad)),
)
def test_bad_input_is_a_form_error_not_a_crash(bad, org_a, bob, client_for):
    data = {"title": "Call", "due_at": _due(), "priority": "normal", "assignee": bob.pk}

    response = client_for(bob).post(_url("task-create", org_a), {**data, **bad})

    assert response.status_code == 400
    assert _tasks(org_a) == []


# --- Read -------------------------------------------------------------------------------------


def test_the_task_page_shows_the_task_and_what_it_is_about(org_a, bob, client_for):
    customer = CustomerFactory(organization=org_a, name="Acme Foods")
    task = TaskFactory(
        organization=org_a,
        title="Bring samples",
        assignee=bob,
        customer=customer,
        lead=LeadFactory(organization=org_a, first_name="Lena", last_name="Lead", company="LC"),
        description="Three boxes.",
    )

    response = client_for(bob).get(_url("task-detail", org_a, pk=task.pk))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Bring samples" in html and "Three boxes." in html and "Acme Foods" in html
    assert "Lena Lead (LC)" in html
    assert reverse("customers:customer-detail", args=[org_a.slug, customer.pk]) in html


def test_the_list_shows_my_open_tasks_soonest_first(org_a, bob, alice, client_for):
    now = timezone.now()
    TaskFactory(organization=org_a, title="Later", assignee=bob, due_at=now + timedelta(days=3))
    TaskFactory(organization=org_a, title="Sooner", assignee=bob, due_at=now + timedelta(hours=1))
    TaskFactory(organization=org_a, title="Done", assignee=bob, completed_at=now)
    TaskFactory(organization=org_a, title="Alice's", assignee=alice)

    response = client_for(bob).get(_url("task-list", org_a))

    assert [t.title for t in response.context["page"].items] == ["Sooner", "Later"]


def test_the_done_filter_shows_finished_tasks_latest_first(org_a, bob, client_for):
    now = timezone.now()
    TaskFactory(organization=org_a, title="Open", assignee=bob)
    TaskFactory(organization=org_a, title="Old", assignee=bob, completed_at=now - timedelta(days=2))
    TaskFactory(organization=org_a, title="Fresh", assignee=bob, completed_at=now)

    response = client_for(bob).get(_url("task-list", org_a) + "?status=done")

    assert [t.title for t in response.context["page"].items] == ["Fresh", "Old"]


def test_a_manager_can_list_a_colleagues_or_everyones_tasks(org_a, bob, alice, carol, client_for):
    TaskFactory(organization=org_a, title="Bob's", assignee=bob)
    TaskFactory(organization=org_a, title="Alice's", assignee=alice)
    client = client_for(alice)

    of_bob = client.get(_url("task-list", org_a) + f"?who={bob.pk}").context["page"].items
    everyone = client.get(_url("task-list", org_a) + "?who=all").context["page"].items

    assert [t.title for t in of_bob] == ["Bob's"]
    assert {t.title for t in everyone} == {"Bob's", "Alice's"}


@pytest.mark.parametrize("who", ["all", "ALICE", "-1", "999999"])
def test_a_sales_rep_sees_only_their_own_list_whatever_they_ask(who, org_a, bob, alice, client_for):
    TaskFactory(organization=org_a, title="Bob's", assignee=bob)
    TaskFactory(organization=org_a, title="Alice's", assignee=alice)

    response = client_for(bob).get(_url("task-list", org_a) + f"?who={who}&who={alice.pk}")

    assert response.status_code == 200
    assert [t.title for t in response.context["page"].items] == ["Bob's"]


def test_a_manager_cannot_list_another_organizations_member(org_a, alice, mallory, client_for):
    TaskFactory(organization=org_a, title="Alice's", assignee=alice)

    response = client_for(alice).get(_url("task-list", org_a) + f"?who={mallory.pk}")

    assert [t.title for t in response.context["page"].items] == ["Alice's"]


def test_the_list_pages_with_a_cursor_and_survives_a_tampered_one(org_a, bob, client_for):
    now = timezone.now()
    for n in range(55):
        TaskFactory(
            organization=org_a, title=f"T{n:02d}", assignee=bob, due_at=now + timedelta(hours=n)
        )
    client = client_for(bob)

    first = client.get(_url("task-list", org_a)).context["page"]
    second = client.get(first.next_url).context["page"]
    tampered = client.get(_url("task-list", org_a) + "?after=garbage!")

    assert len(first.items) == 50 and [t.title for t in second.items] == [
        f"T{n}" for n in range(50, 55)
    ]
    assert tampered.status_code == 200


def test_htmx_filters_get_the_results_fragment(org_a, bob, client_for):
    TaskFactory(organization=org_a, title="Mine", assignee=bob)

    response = client_for(bob).get(
        _url("task-list", org_a), headers={**HTMX, "HX-Target": "task-results"}
    )

    assert response.templates[0].name == "sales/activities/partials/task_results.html"
    assert "Mine" in response.content.decode()


# --- Edit and delete --------------------------------------------------------------------------


def test_it_edits_a_task_and_a_new_reminder_time_arms_it_again(org_a, bob, alice, client_for):
    task = TaskFactory(
        organization=org_a,
        assignee=bob,
        remind_at=timezone.now() - timedelta(hours=1),
        reminded_at=timezone.now(),
    )

    response = client_for(bob).post(
        _url("task-edit", org_a, pk=task.pk),
        {
            "title": "Renamed",
            "due_at": _due(3),
            "priority": "low",
            "assignee": alice.pk,
            "remind_at": _due(2),
        },
    )

    [task] = _tasks(org_a)
    assert response.status_code == 302
    assert (task.title, task.priority, task.assignee) == ("Renamed", "low", alice)
    assert task.reminded_at is None


def test_saving_without_changing_the_reminder_keeps_it_sent(org_a, bob, client_for):
    remind = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=1)
    task = TaskFactory(
        organization=org_a, assignee=bob, remind_at=remind, reminded_at=timezone.now()
    )

    client_for(bob).post(
        _url("task-edit", org_a, pk=task.pk),
        {
            "title": "Same reminder",
            "due_at": _due(),
            "priority": "normal",
            "assignee": bob.pk,
            "remind_at": timezone.localtime(remind).strftime("%Y-%m-%dT%H:%M"),
        },
    )

    [task] = _tasks(org_a)
    assert task.title == "Same reminder" and task.reminded_at is not None


def test_an_invalid_edit_changes_nothing(org_a, bob, client_for):
    task = TaskFactory(organization=org_a, title="Keep me", assignee=bob)

    response = client_for(bob).post(_url("task-edit", org_a, pk=task.pk), {"title": ""})

    assert response.status_code == 400
    assert "Keep me" in response.content.decode()  # the breadcrumb still shows the saved title
    assert _tasks(org_a)[0].title == "Keep me"


def test_it_deletes_a_task_by_post_only(org_a, bob, client_for):
    task = TaskFactory(organization=org_a, assignee=bob)
    client = client_for(bob)

    assert client.get(_url("task-delete", org_a, pk=task.pk)).status_code == 405
    response = client.post(_url("task-delete", org_a, pk=task.pk))

    assert response.status_code == 302 and _tasks(org_a) == []


# --- Complete and reopen ----------------------------------------------------------------------


def test_htmx_toggle_completes_then_reopens_and_returns_the_row(org_a, bob, client_for):
    task = TaskFactory(organization=org_a, title="Tick me", assignee=bob)
    client = client_for(bob)
    url = _url("task-toggle", org_a, pk=task.pk)

    done = client.post(url, {"done": "1"}, headers=HTMX)
    assert _tasks(org_a)[0].completed_at is not None
    assert "is-done" in done.content.decode() and 'name="done" value="0"' in done.content.decode()

    reopened = client.post(url, {"done": "0"}, headers=HTMX)
    assert _tasks(org_a)[0].completed_at is None
    assert "is-done" not in reopened.content.decode()


def test_completing_twice_keeps_the_first_completion_time(org_a, bob, client_for):
    task = TaskFactory(organization=org_a, assignee=bob)
    client = client_for(bob)
    client.post(_url("task-toggle", org_a, pk=task.pk), {"done": "1"})
    first = _tasks(org_a)[0].completed_at

    client.post(_url("task-toggle", org_a, pk=task.pk), {"done": "1"})

    assert _tasks(org_a)[0].completed_at == first


def test_toggle_without_javascript_goes_back_to_the_page(org_a, bob, client_for):
    task = TaskFactory(organization=org_a, assignee=bob)
    my_day = _url("my-day", org_a)

    response = client_for(bob).post(_url("task-toggle", org_a, pk=task.pk), {"next": my_day})

    assert response.status_code == 302 and response["Location"] == my_day
    assert _tasks(org_a)[0].completed_at is not None


# --- Roles and tenants ------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_only_roles_that_work_sales_reach_tasks(role, org_a, member_of, client_for):
    user = member_of(org_a, role)
    task = TaskFactory(organization=org_a, assignee=user)
    client = client_for(user)

    statuses = {
        client.get(_url("task-list", org_a)).status_code,
        client.get(_url("task-create", org_a)).status_code,
        client.get(_url("task-detail", org_a, pk=task.pk)).status_code,
        client.post(_url("task-toggle", org_a, pk=task.pk)).status_code,
    }

    if role_can(role, Capability.WORK_SALES):
        assert statuses <= {200, 302}
    else:
        assert statuses == {403}


def test_the_sidebar_links_my_day_calendar_and_tasks_for_sales_roles_only(
    org_a, bob, carol, client_for
):
    links = [_url(name, org_a) for name in ("my-day", "calendar", "task-list")]

    for_bob = client_for(bob).get(reverse("tenancy:home", args=[org_a.slug])).content.decode()
    for_carol = client_for(carol).get(reverse("tenancy:home", args=[org_a.slug])).content.decode()

    assert all(f'href="{link}"' in for_bob for link in links)
    assert not any(f'href="{link}"' in for_carol for link in links)


@pytest.mark.parametrize("name", ["task-detail", "task-edit", "task-toggle", "task-delete"])
def test_another_organizations_task_is_not_found(name, org_a, org_b, bob, mallory, client_for):
    task = TaskFactory(organization=org_b, title="Beta secret", assignee=mallory)
    client = client_for(bob)

    for method in ("get", "post"):
        response = getattr(client, method)(_url(name, org_a, pk=task.pk))
        assert response.status_code in (404, 405)
        assert "Beta secret" not in response.content.decode()
    with tenant_context(org_b):
        assert Task.objects.get().completed_at is None


def test_lists_never_show_another_organizations_tasks(org_a, org_b, alice, mallory, client_for):
    TaskFactory(organization=org_b, title="Beta secret", assignee=mallory)

    html = client_for(alice).get(_url("task-list", org_a) + "?who=all").content.decode()

    assert "Beta secret" not in html


# --- Query counts -----------------------------------------------------------------------------

# session, user, organization, [set tenant], savepoint, membership, the page of tasks (with
# assignee, customer, opportunity, lead), members (the manager's picker), [the organization
# switcher, the bell], release, [reset tenant].
EXPECTED = {"sqlite": 10, "postgresql": 12}


@pytest.mark.parametrize("tasks", [3, 60])
def test_the_task_list_costs_the_same_queries_whatever_the_data(
    tasks, org_a, alice, bob, client_for, django_assert_num_queries
):
    customer = CustomerFactory(organization=org_a)
    opportunity = OpportunityFactory(organization=org_a, customer=customer)
    lead = LeadFactory(organization=org_a)
    now = timezone.now()
    with tenant_context(org_a):
        Task.objects.bulk_create(
            [
                Task(
                    organization=org_a,
                    title=f"T{n}",
                    assignee=(alice, bob)[n % 2],
                    due_at=now + timedelta(hours=n),
                    customer=customer,
                    opportunity=opportunity if n % 3 else None,
                    lead=lead if n % 5 else None,
                )
                for n in range(tasks)
            ]
        )
    client = client_for(alice)
    url = _url("task-list", org_a) + "?who=all"
    client.get(url)

    with django_assert_num_queries(EXPECTED[connection.vendor]):
        response = client.get(url)

    assert len(response.context["page"].items) == min(tasks, 50)
