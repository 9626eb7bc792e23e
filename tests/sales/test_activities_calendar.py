"""The calendar: a month grid or a week of tasks and expected closes, its navigation, whose
calendar it is, and what it does with odd addresses."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from sales.models import Task
from sales.selectors import activities as selectors
from tenancy.context import tenant_context
from tests.sales.factories_activities import OpportunityFactory, StageFactory, TaskFactory

HTMX = {"HX-Request": "true"}


def _calendar(client, org, query: str = "", **headers):
    return client.get(reverse("sales:calendar", args=[org.slug]) + query, headers=headers or None)


def _day(cal, day: date):
    return next(cell for week in cal.weeks for cell in week if cell.day == day)


def _at(day: date, hour: int, tz=None) -> datetime:
    return datetime(
        day.year, day.month, day.day, hour, tzinfo=tz or timezone.get_current_timezone()
    )


def test_the_month_grid_is_whole_weeks_from_sunday_in_english(org_a, bob, client_for):
    cal = _calendar(client_for(bob), org_a, "?month=2026-02").context["cal"]

    assert cal.title == "February 2026"
    assert cal.weeks[0][0].day == date(2026, 2, 1)  # a Sunday
    assert cal.weeks[-1][-1].day == date(2026, 2, 28)  # a Saturday
    assert all(len(week) == 7 for week in cal.weeks)
    assert (cal.previous, cal.next) == (date(2026, 1, 1), date(2026, 3, 1))


def test_days_of_the_neighbouring_months_are_marked_outside(org_a, bob, client_for):
    cal = _calendar(client_for(bob), org_a, "?month=2026-01").context["cal"]

    assert cal.weeks[0][0].day == date(2025, 12, 28) and not cal.weeks[0][0].in_range
    assert _day(cal, date(2026, 1, 1)).in_range


def test_the_week_starts_on_monday_in_chinese(org_a, bob, client_for):
    client = client_for(bob)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})

    cal = _calendar(client, org_a, "?view=week&date=2026-01-15").context["cal"]

    assert cal.weeks[0][0].day == date(2026, 1, 12)


def test_tasks_sit_on_their_local_due_day_and_closes_on_their_close_date(
    settings, org_a, bob, alice, client_for
):
    settings.TIME_ZONE = "Asia/Shanghai"
    shanghai = ZoneInfo("Asia/Shanghai")
    TaskFactory(
        organization=org_a,
        title="Early call",
        assignee=bob,
        due_at=_at(date(2026, 1, 15), 7, shanghai),
    )  # 23:00 UTC on the 14th
    TaskFactory(
        organization=org_a,
        title="Done thing",
        assignee=bob,
        due_at=_at(date(2026, 1, 15), 9, shanghai),
        completed_at=timezone.now(),
    )
    TaskFactory(
        organization=org_a,
        title="Alice's task",
        assignee=alice,
        due_at=_at(date(2026, 1, 15), 9, shanghai),
    )
    OpportunityFactory(
        organization=org_a, owner=bob, name="Closing deal", close_date=date(2026, 1, 20)
    )
    lost = StageFactory(organization=org_a, name="Lost", is_lost=True)
    OpportunityFactory(
        organization=org_a,
        owner=bob,
        name="Lost deal",
        close_date=date(2026, 1, 20),
        stage=lost,
        pipeline=lost.pipeline,
    )

    cal = _calendar(client_for(bob), org_a, "?month=2026-01").context["cal"]

    assert [t.title for t in _day(cal, date(2026, 1, 15)).tasks] == ["Early call", "Done thing"]
    assert _day(cal, date(2026, 1, 14)).tasks == []
    assert [h.opportunity.name for h in _day(cal, date(2026, 1, 20)).opportunities] == [
        "Closing deal"
    ]


def test_a_busy_day_shows_a_few_items_and_counts_the_rest(org_a, bob, client_for):
    day = date(2026, 1, 15)
    for hour in range(6):
        TaskFactory(
            organization=org_a, title=f"Call {hour}", assignee=bob, due_at=_at(day, 8 + hour)
        )

    response = _calendar(client_for(bob), org_a, "?month=2026-01")
    cell = _day(response.context["cal"], day)

    assert len(cell.shown_tasks) == selectors.MONTH_CELL_SHOWN and cell.hidden == 3
    assert "3 more" in response.content.decode()
    week = _calendar(client_for(bob), org_a, "?view=week&date=2026-01-15").content.decode()
    assert all(f"Call {hour}" in week for hour in range(6))


def test_the_week_view_shows_seven_days_and_moves_by_weeks(org_a, bob, client_for):
    TaskFactory(
        organization=org_a, title="Wednesday task", assignee=bob, due_at=_at(date(2026, 1, 14), 10)
    )

    response = _calendar(client_for(bob), org_a, "?view=week&date=2026-01-15")
    cal, links = response.context["cal"], response.context["links"]

    assert cal.view == "week" and len(cal.weeks) == 1
    assert [c.day for c in cal.weeks[0]] == [
        date(2026, 1, 11) + timedelta(days=n) for n in range(7)
    ]
    assert (cal.previous, cal.next) == (date(2026, 1, 4), date(2026, 1, 18))
    assert "view=week" in links["next"] and "date=2026-01-18" in links["next"]
    assert "Wednesday task" in response.content.decode()


def test_today_is_the_default_and_is_highlighted(org_a, bob, client_for):
    cal = _calendar(client_for(bob), org_a).context["cal"]

    today = timezone.localdate()
    assert cal.view == "month" and cal.anchor == today.replace(day=1)
    assert _day(cal, today).is_today


@pytest.mark.parametrize(
    "query",
    [
        "?month=2026-13",
        "?month=abc",
        "?month=2026-02-30",
        "?month=-1-01",
        "?date=2026-02-30",
        "?date=yesterday",
        "?date=0001-01-01",
        "?date=9999-12-31",
        "?view=decade&date=2026-01-15",
        "?view=week&date=%00",
        "?member=abc",
        "?member=99999999999999999999",
        "?month=" + "9" * 5000,
    ],
)
def test_odd_addresses_fall_back_instead_of_failing(query, org_a, bob, alice, client_for):
    for user in (bob, alice):
        response = _calendar(client_for(user), org_a, query)
        assert response.status_code == 200, query


def test_the_edges_of_time_stop_the_navigation(org_a, bob, client_for):
    last = _calendar(client_for(bob), org_a, "?month=2999-12").context
    first = _calendar(client_for(bob), org_a, "?view=week&date=1900-01-01").context

    assert last["cal"].next is None and last["links"]["next"] == ""
    assert first["cal"].previous is None and first["links"]["previous"] == ""


def test_a_manager_looks_at_a_colleagues_calendar(org_a, bob, alice, client_for):
    TaskFactory(
        organization=org_a, title="Bob's task", assignee=bob, due_at=_at(date(2026, 1, 15), 9)
    )

    response = _calendar(client_for(alice), org_a, f"?month=2026-01&member={bob.pk}")
    cal = response.context["cal"]

    assert cal.member == bob
    assert [t.title for t in _day(cal, date(2026, 1, 15)).tasks] == ["Bob's task"]
    assert f"member={bob.pk}" in response.context["links"]["next"]


def test_a_sales_rep_only_ever_sees_their_own_calendar(org_a, bob, alice, client_for):
    TaskFactory(
        organization=org_a, title="Alice's task", assignee=alice, due_at=_at(date(2026, 1, 15), 9)
    )

    response = _calendar(client_for(bob), org_a, f"?month=2026-01&member={alice.pk}")

    assert response.context["cal"].member == bob
    assert "Alice's task" not in response.content.decode()
    assert response.context["members"] == []


def test_a_manager_cannot_open_another_organizations_member(
    org_a, org_b, alice, mallory, client_for
):
    TaskFactory(
        organization=org_b, title="Beta task", assignee=mallory, due_at=_at(date(2026, 1, 15), 9)
    )

    response = _calendar(client_for(alice), org_a, f"?month=2026-01&member={mallory.pk}")

    assert response.context["cal"].member == alice
    assert "Beta task" not in response.content.decode()


def test_htmx_navigation_swaps_only_the_calendar(org_a, bob, client_for):
    response = _calendar(
        client_for(bob), org_a, "?month=2026-03", **{**HTMX, "HX-Target": "calendar"}
    )

    assert response.templates[0].name == "sales/activities/partials/calendar_body.html"
    assert "March 2026" in response.content.decode()


def test_the_calendar_is_only_for_sales_roles(org_a, carol, client_for):
    assert _calendar(client_for(carol), org_a).status_code == 403


# session, user, organization, [set tenant], savepoint, membership, members (the manager's
# picker), tasks, opportunities, [switcher, bell], release, [reset tenant].
EXPECTED = {"sqlite": 11, "postgresql": 13}


@pytest.mark.parametrize("rows", [2, 80])
def test_the_calendar_costs_the_same_queries_whatever_the_data(
    rows, org_a, alice, bob, client_for, django_assert_num_queries
):
    start = _at(date(2026, 1, 1), 8)
    opportunity = OpportunityFactory(
        organization=org_a, owner=bob, close_date=date(2026, 1, 9), amount=Decimal(5)
    )
    with tenant_context(org_a):
        Task.objects.bulk_create(
            [
                Task(
                    organization=org_a,
                    title=f"T{n}",
                    assignee=bob,
                    opportunity=opportunity,
                    customer=opportunity.customer,
                    due_at=start + timedelta(hours=n * 7),
                )
                for n in range(rows)
            ]
        )
    for n in range(rows // 10):
        OpportunityFactory(organization=org_a, owner=bob, close_date=date(2026, 1, 1 + n))
    client = client_for(alice)
    url = reverse("sales:calendar", args=[org_a.slug]) + f"?month=2026-01&member={bob.pk}"
    client.get(url)

    with django_assert_num_queries(EXPECTED[connection.vendor]):
        response = client.get(url)

    assert response.status_code == 200
