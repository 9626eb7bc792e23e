"""Notifications (tenancy's views, brought by activities): the bell and its count, the menu,
marking read, the page; each member sees only their own, in this organization."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tenancy.context import tenant_context
from tenancy.models import Notification
from tenancy.permissions import Role
from tests.sales.factories_activities import NotificationFactory

HTMX = {"HX-Request": "true"}
MENU = {**HTMX, "HX-Target": "notification-menu"}


def _url(name: str, org, **kwargs) -> str:
    return reverse(f"tenancy:{name}", kwargs={"org_slug": org.slug, **kwargs})


def _unread(org, user) -> int:
    with tenant_context(org):
        return Notification.objects.filter(user=user, read_at=None).count()


@pytest.mark.parametrize("role", list(Role))
def test_every_member_has_the_bell_with_their_unread_count(role, org_a, member_of, client_for):
    user = member_of(org_a, role)
    NotificationFactory.create_batch(3, organization=org_a, user=user)
    NotificationFactory(organization=org_a, user=user, read_at=timezone.now())

    html = client_for(user).get(_url("home", org_a)).content.decode()

    assert 'data-testid="notifications"' in html
    assert 'data-testid="notification-badge">3<' in html


def test_the_badge_hides_at_zero_and_stops_at_99_plus(org_a, bob, client_for):
    client = client_for(bob)
    assert 'data-testid="notification-badge">0<' in client.get(_url("home", org_a)).content.decode()
    assert (
        'hidden data-testid="notification-badge"'
        in client.get(_url("home", org_a)).content.decode()
    )

    with tenant_context(org_a):
        Notification.objects.bulk_create(
            [Notification(organization=org_a, user=bob, title=f"N{n}") for n in range(120)]
        )

    assert (
        'data-testid="notification-badge">99+<' in client.get(_url("home", org_a)).content.decode()
    )


def test_the_count_is_only_mine_in_this_organization(
    org_a, org_b, bob, alice, member_of, client_for
):
    member_of(org_b, Role.SALES, email="bob-too@b.example")
    NotificationFactory(organization=org_a, user=alice)
    NotificationFactory(organization=org_b, user=bob)
    NotificationFactory(organization=org_a, user=bob)

    html = client_for(bob).get(_url("home", org_a)).content.decode()

    assert 'data-testid="notification-badge">1<' in html


def test_the_menu_lists_my_latest_notifications(org_a, org_b, bob, alice, mallory, client_for):
    now = timezone.now()
    for n in range(10):
        NotificationFactory(
            organization=org_a, user=bob, title=f"Mine {n}", created_at=now - timedelta(minutes=n)
        )
    NotificationFactory(organization=org_a, user=alice, title="Alice's")
    NotificationFactory(organization=org_b, user=mallory, title="Beta's")

    response = client_for(bob).get(_url("notification-list", org_a), headers=MENU)

    html = response.content.decode()
    assert response.templates[0].name == "tenancy/partials/notification_menu.html"
    assert [n.title for n in response.context["notifications"]] == [f"Mine {n}" for n in range(8)]
    assert "Alice's" not in html and "Beta's" not in html
    assert 'hx-swap-oob="true"' in html  # the bell's count is refreshed with the menu


def test_opening_a_notification_marks_it_read_and_follows_its_link(org_a, bob, client_for):
    link = reverse("sales:my-day", args=[org_a.slug])
    notification = NotificationFactory(organization=org_a, user=bob, link=link)

    response = client_for(bob).post(_url("notification-read", org_a, pk=notification.pk))

    assert response.status_code == 302 and response["Location"] == link
    assert _unread(org_a, bob) == 0


@pytest.mark.parametrize(
    "link", ["", "https://evil.example/", "//evil.example/x", "javascript:alert(1)"]
)
def test_a_notification_without_a_safe_link_opens_the_notifications_page(
    link, org_a, bob, client_for
):
    notification = NotificationFactory(organization=org_a, user=bob, link=link)

    response = client_for(bob).post(_url("notification-read", org_a, pk=notification.pk))

    assert response["Location"] == _url("notification-list", org_a)


def test_reading_is_by_post_only(org_a, bob, client_for):
    notification = NotificationFactory(organization=org_a, user=bob)

    assert (
        client_for(bob).get(_url("notification-read", org_a, pk=notification.pk)).status_code == 405
    )
    assert _unread(org_a, bob) == 1


def test_a_colleagues_or_another_organizations_notification_is_not_found(
    org_a, org_b, bob, alice, mallory, client_for
):
    alices = NotificationFactory(organization=org_a, user=alice)
    beta = NotificationFactory(organization=org_b, user=mallory)
    client = client_for(bob)

    assert client.post(_url("notification-read", org_a, pk=alices.pk)).status_code == 404
    assert client.post(_url("notification-read", org_a, pk=beta.pk)).status_code == 404
    assert _unread(org_a, alice) == 1 and _unread(org_b, mallory) == 1


def test_mark_all_read_marks_only_mine(org_a, bob, alice, client_for):
    NotificationFactory.create_batch(3, organization=org_a, user=bob)
    NotificationFactory(organization=org_a, user=alice)

    response = client_for(bob).post(_url("notification-read-all", org_a))

    assert response.status_code == 302
    assert _unread(org_a, bob) == 0 and _unread(org_a, alice) == 1


def test_mark_all_read_from_the_menu_returns_the_menu_with_no_count(org_a, bob, client_for):
    NotificationFactory.create_batch(2, organization=org_a, user=bob)

    response = client_for(bob).post(_url("notification-read-all", org_a), headers=MENU)

    html = response.content.decode()
    assert response.status_code == 200
    assert "hidden" in html and 'data-testid="notification-badge">0<' in html
    assert _unread(org_a, bob) == 0


def test_the_page_lists_and_pages_my_notifications(org_a, bob, client_for):
    now = timezone.now()
    with tenant_context(org_a):
        Notification.objects.bulk_create(
            [
                Notification(
                    organization=org_a,
                    user=bob,
                    title=f"N{n:02d}",
                    created_at=now - timedelta(minutes=n),
                )
                for n in range(35)
            ]
        )
    client = client_for(bob)

    first = client.get(_url("notification-list", org_a)).context["page"]
    second = client.get(first.next_url).context["page"]

    assert [n.title for n in first.items][:2] == ["N00", "N01"] and len(first.items) == 30
    assert [n.title for n in second.items] == [f"N{n}" for n in range(30, 35)]
    assert client.get(_url("notification-list", org_a) + "?after=%%%").status_code == 200


def test_the_empty_page_says_what_will_show_up(org_a, carol, client_for):
    html = client_for(carol).get(_url("notification-list", org_a)).content.decode()

    assert "Task reminders and other news for you show up here." in html


def test_the_bell_costs_one_query_whatever_the_backlog(org_a, bob, client_for):
    from django.test.utils import CaptureQueriesContext

    client = client_for(bob)
    client.get(_url("home", org_a))

    def home_queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            client.get(_url("home", org_a))
        return [q["sql"] for q in captured.captured_queries]

    quiet = home_queries()
    with tenant_context(org_a):
        Notification.objects.bulk_create(
            [Notification(organization=org_a, user=bob, title=f"N{n}") for n in range(150)]
        )
    busy = home_queries()

    assert len(busy) == len(quiet)
    assert len([sql for sql in busy if "notification" in sql.lower()]) == 1


# session, user, organization, [set tenant], savepoint, membership, the menu's notifications,
# the unread count, release, [reset tenant].
MENU_EXPECTED = {"sqlite": 8, "postgresql": 10}


@pytest.mark.parametrize("count", [2, 50])
def test_the_menu_costs_the_same_queries_whatever_the_data(
    count, org_a, bob, client_for, django_assert_num_queries
):
    NotificationFactory.create_batch(count, organization=org_a, user=bob)
    client = client_for(bob)
    client.get(_url("notification-list", org_a), headers=MENU)

    with django_assert_num_queries(MENU_EXPECTED[connection.vendor]):
        client.get(_url("notification-list", org_a), headers=MENU)
