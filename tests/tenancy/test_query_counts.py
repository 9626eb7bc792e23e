"""The number of queries of the foundation's pages does not grow with the data.

Counts are pinned exactly, per database: PostgreSQL adds the two `set_config` statements that
set and reset the tenant. A change here is a change in the page's cost; make it on purpose.
The home page also runs the queries of the panels that apps register: tenancy's team overview
(admins only: members and invitations) and customers' two lists.
"""

import pytest
from django.db import connection
from django.urls import reverse

from tenancy.permissions import Role
from tests.factories import ActivityEventFactory, InvitationFactory

# session, user, organization, [set tenant], savepoint ... release, [reset tenant]
# Every page: the bell's unread count (+1). Home pages of admins and sales reps: the sales
# panels ("My tasks", "My open leads", "My pipeline"; an admin also sees the quarter forecast).
EXPECTED = {
    "sqlite": {"tenancy:members": 10, "tenancy:home": 19, "tenancy:settings": 8, "sales home": 16},
    "postgresql": {
        "tenancy:members": 12,
        "tenancy:home": 19 + 2,
        "tenancy:settings": 10,
        "sales home": 16 + 2,
    },
}


def _populate(org, admin, member_of, *, members: int, events: int) -> None:
    for n in range(members - 1):
        member_of(org, list(Role)[n % len(Role)])
    for _ in range(members):
        InvitationFactory(organization=org, invited_by=admin)
    for n in range(events):
        ActivityEventFactory(organization=org, actor=admin if n % 2 else None)


@pytest.mark.parametrize("url_name", ["tenancy:members", "tenancy:home", "tenancy:settings"])
@pytest.mark.parametrize(("members", "events"), [(3, 3), (30, 60)], ids=["3-members", "30-members"])
def test_the_page_costs_the_same_queries_whatever_the_data(
    url_name,
    members,
    events,
    org_a,
    admin_a,
    member_of,
    client_for,
    django_assert_num_queries,
):
    _populate(org_a, admin_a, member_of, members=members, events=events)
    client = client_for(admin_a)
    url = reverse(url_name, args=[org_a.slug])
    client.get(url)  # the first visit also records the organization in the session

    with django_assert_num_queries(EXPECTED[connection.vendor][url_name]):
        response = client.get(url)

    assert response.status_code == 200


def test_the_members_page_lists_every_member_and_invitation(org_a, admin_a, member_of, client_for):
    _populate(org_a, admin_a, member_of, members=30, events=0)

    response = client_for(admin_a).get(reverse("tenancy:members", args=[org_a.slug]))

    assert len(response.context["members"]) == 30
    assert len(response.context["invitations"]) == 30


@pytest.mark.parametrize(("members", "events"), [(3, 3), (30, 60)], ids=["3-members", "30-members"])
def test_a_sales_reps_home_costs_the_same_queries_whatever_the_data(
    members, events, org_a, admin_a, bob, member_of, client_for, django_assert_num_queries
):
    _populate(org_a, admin_a, member_of, members=members, events=events)
    for n in range(events):
        ActivityEventFactory(organization=org_a, actor=bob, target=f"bob {n}")
    client = client_for(bob)
    url = reverse("tenancy:home", args=[org_a.slug])
    client.get(url)

    with django_assert_num_queries(EXPECTED[connection.vendor]["sales home"]):
        response = client.get(url)

    assert response.status_code == 200
    assert len(response.context["my_activity"]) == min(events, 8)
