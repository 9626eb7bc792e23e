"""My day: overdue, today and the next seven days, cut at the organization's midnight, and the
rep's hot opportunities."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from sales.models import Opportunity, Task
from sales.selectors import activities as selectors
from tenancy.context import tenant_context
from tests.factories import CustomerFactory
from tests.sales.factories_activities import OpportunityFactory, StageFactory, TaskFactory

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def new_york(settings):
    """The organization works in New York: five hours behind UTC in January."""
    settings.TIME_ZONE = "America/New_York"
    return NEW_YORK


def _at(year, month, day, hour=0, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


def _titles(tasks) -> list[str]:
    return [task.title for task in tasks]


def test_the_buckets_cut_at_local_midnight_not_utc(new_york, org_a, bob, alice):
    now = _at(2026, 1, 15, 10)
    for title, due in [
        ("late last night", _at(2026, 1, 14, 23, 30)),  # 04:30 UTC on the 15th, yet yesterday here
        ("last week", _at(2026, 1, 8, 9)),
        ("early today", _at(2026, 1, 15, 0, 30)),
        ("tonight", _at(2026, 1, 15, 23, 30)),  # 04:30 UTC on the 16th, yet today here
        ("tomorrow at midnight", _at(2026, 1, 16)),
        ("last of the week", _at(2026, 1, 22, 23, 59)),
        ("beyond the week", _at(2026, 1, 23)),
    ]:
        TaskFactory(organization=org_a, title=title, assignee=bob, due_at=due)
    TaskFactory(organization=org_a, title="done today", assignee=bob, due_at=now, completed_at=now)
    TaskFactory(organization=org_a, title="alice's", assignee=alice, due_at=now)

    with tenant_context(org_a):
        day = selectors.my_day(org=org_a, user=bob, now=now)

    assert day.today == date(2026, 1, 15)
    assert _titles(day.overdue) == ["last week", "late last night"]
    assert _titles(day.due_today) == ["early today", "tonight"]
    assert [(g.day, _titles(g.tasks)) for g in day.upcoming] == [
        (date(2026, 1, 16), ["tomorrow at midnight"]),
        (date(2026, 1, 22), ["last of the week"]),
    ]
    assert [t.is_overdue for t in day.due_today] == [True, False]


def test_a_day_of_23_hours_keeps_its_evening(settings, org_a, bob):
    settings.TIME_ZONE = "America/New_York"  # clocks go forward on 8 March 2026
    TaskFactory(organization=org_a, title="evening", assignee=bob, due_at=_at(2026, 3, 8, 23, 30))
    TaskFactory(
        organization=org_a, title="next morning", assignee=bob, due_at=_at(2026, 3, 9, 0, 30)
    )

    with tenant_context(org_a):
        day = selectors.my_day(org=org_a, user=bob, now=_at(2026, 3, 8, 12))

    assert _titles(day.due_today) == ["evening"]
    assert [_titles(g.tasks) for g in day.upcoming] == [["next morning"]]


def test_the_overdue_list_is_capped_and_says_there_is_more(org_a, bob):
    now = timezone.now()
    with tenant_context(org_a):
        Task.objects.bulk_create(
            [
                Task(
                    organization=org_a,
                    title=f"old {n}",
                    assignee=bob,
                    due_at=now - timedelta(days=2, minutes=n),
                )
                for n in range(30)
            ]
        )
        day = selectors.my_day(org=org_a, user=bob, now=now)

    assert len(day.overdue) == selectors.OVERDUE_SHOWN and day.overdue_more


def _opportunity(org, owner, **fields):
    return OpportunityFactory(organization=org, owner=owner, **fields)


def test_hot_opportunities_are_mine_open_closing_soon_and_likely_biggest_weighted_first(
    org_a, bob, alice
):
    today = timezone.localdate()
    soon = today + timedelta(days=5)
    _opportunity(
        org_a,
        bob,
        name="Big but unlikely",
        amount=Decimal("900000"),
        probability=40,
        close_date=soon,
    )
    _opportunity(
        org_a, bob, name="Medium", amount=Decimal("10000"), probability=90, close_date=soon
    )
    _opportunity(
        org_a,
        bob,
        name="Large",
        amount=Decimal("20000"),
        probability=50,
        close_date=today + timedelta(days=30),
    )
    _opportunity(
        org_a,
        bob,
        name="Too far",
        amount=Decimal("50000"),
        probability=80,
        close_date=today + timedelta(days=31),
    )
    _opportunity(
        org_a,
        bob,
        name="Slipped",
        amount=Decimal("50000"),
        probability=80,
        close_date=today - timedelta(days=1),
    )
    _opportunity(
        org_a, alice, name="Alice's", amount=Decimal("50000"), probability=80, close_date=soon
    )
    won = StageFactory(organization=org_a, name="Won", is_won=True, probability=100)
    _opportunity(
        org_a,
        bob,
        name="Already won",
        amount=Decimal("50000"),
        probability=100,
        close_date=soon,
        stage=won,
        pipeline=won.pipeline,
    )

    with tenant_context(org_a):
        hot = selectors.hot_opportunities(org=org_a, user=bob, today=today)

    # weighted: Large 10,000 > Medium 9,000
    assert [h.opportunity.name for h in hot] == ["Large", "Medium"]


def test_hot_opportunities_link_to_their_page_only_when_it_exists(org_a, bob, monkeypatch):
    customer = CustomerFactory(organization=org_a, name="Buyer")
    _opportunity(org_a, bob, name="Deal", customer=customer, probability=70)

    with tenant_context(org_a):
        [hot] = selectors.hot_opportunities(org=org_a, user=bob, today=timezone.localdate())
    assert hot.customer_url == reverse("customers:customer-detail", args=[org_a.slug, customer.pk])

    def no_such_view(name, kwargs=None, **rest):
        from django.urls import NoReverseMatch

        raise NoReverseMatch(name)

    monkeypatch.setattr(selectors, "reverse", no_such_view)
    with tenant_context(org_a):
        [hot] = selectors.hot_opportunities(org=org_a, user=bob, today=timezone.localdate())
    assert hot.url == "" and hot.customer_url == ""


def test_the_page_shows_the_buckets_and_the_hot_deals(org_a, bob, client_for):
    now = timezone.now()
    TaskFactory(
        organization=org_a, title="Overdue call", assignee=bob, due_at=now - timedelta(days=3)
    )
    TaskFactory(
        organization=org_a, title="Demo next week", assignee=bob, due_at=now + timedelta(days=3)
    )
    _opportunity(org_a, bob, name="Hot deal", probability=75)

    response = client_for(bob).get(reverse("sales:my-day", args=[org_a.slug]))

    html = response.content.decode()
    assert response.status_code == 200
    for text in ("Overdue call", "Demo next week", "Hot deal", "Hot opportunities"):
        assert text in html


def test_the_page_is_only_for_sales_roles(org_a, carol, client_for):
    assert client_for(carol).get(reverse("sales:my-day", args=[org_a.slug])).status_code == 403


def test_the_page_never_shows_another_organizations_work(org_a, org_b, bob, mallory, client_for):
    TaskFactory(organization=org_b, title="Beta task", assignee=bob, due_at=timezone.now())
    _opportunity(org_b, bob, name="Beta deal", probability=90)

    html = client_for(bob).get(reverse("sales:my-day", args=[org_a.slug])).content.decode()

    assert "Beta task" not in html and "Beta deal" not in html


# session, user, organization, [set tenant], savepoint, membership, overdue, the week, hot
# opportunities, [switcher, bell], release, [reset tenant].
EXPECTED = {"sqlite": 11, "postgresql": 13}


@pytest.mark.parametrize("rows", [2, 40])
def test_my_day_costs_the_same_queries_whatever_the_data(
    rows, org_a, bob, client_for, django_assert_num_queries
):
    now = timezone.now()
    customer = CustomerFactory(organization=org_a)
    for n in range(rows):
        _opportunity(org_a, bob, customer=customer, probability=60 + n % 30)
    with tenant_context(org_a):
        opportunity = Opportunity.objects.first()
        Task.objects.bulk_create(
            [
                Task(
                    organization=org_a,
                    title=f"T{n}",
                    assignee=bob,
                    customer=customer,
                    opportunity=opportunity,
                    due_at=now + timedelta(hours=n * 5 - 60),
                )
                for n in range(rows)
            ]
        )
    client = client_for(bob)
    url = reverse("sales:my-day", args=[org_a.slug])
    client.get(url)

    with django_assert_num_queries(EXPECTED[connection.vendor]):
        response = client.get(url)

    assert response.status_code == 200
