"""The forecast: its numbers on a small known dataset, its cost, and who may see it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sales.models import StageChange
from sales.selectors.forecast import Period, forecast, months_between, period_range, quarter_summary
from tenancy.context import tenant_context
from tests.sales.conftest_opportunities import *  # noqa: F403  (fixtures)
from tests.sales.factories_opportunities import (
    OpportunityFactory,
    default_pipeline,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tenant_reads_as_org_a")]


@pytest.fixture
def deals(org_a, alice, bob, stages_a):
    """Three open deals this quarter, one next quarter, two won and one lost today."""
    start, end = period_range(Period.THIS_QUARTER, timezone.localdate())
    m0, m1 = months_between(start, end)[:2]
    now = timezone.now()
    won, lost = stages_a[5], stages_a[6]
    OpportunityFactory(stage=stages_a[1], amount=Decimal("1000"), close_date=m0, owner=bob)
    OpportunityFactory(
        stage=stages_a[3],
        amount=Decimal("2000"),
        close_date=m1,
        owner=alice,
        forecast_category="commit",
    )
    OpportunityFactory(
        stage=stages_a[4],
        amount=Decimal("500"),
        close_date=m1,
        owner=bob,
        forecast_category="best_case",
    )
    OpportunityFactory(
        stage=stages_a[4], amount=Decimal("9999"), close_date=end + timedelta(days=5), owner=bob
    )
    OpportunityFactory(
        stage=won,
        amount=Decimal("3000"),
        owner=bob,
        closed_at=now,
        created_at=now - timedelta(days=10),
    )
    OpportunityFactory(
        stage=won,
        amount=Decimal("1000"),
        owner=bob,
        closed_at=now,
        created_at=now - timedelta(days=20),
    )
    OpportunityFactory(
        stage=lost, amount=Decimal("800"), owner=alice, closed_at=now, lost_reason="Price"
    )
    return {"m0": m0, "m1": m1}


def _forecast(org, stages):
    with tenant_context(org):
        return forecast(org=org, pipeline=stages[0].pipeline, period=Period.THIS_QUARTER)


def test_commit_best_case_and_weighted_totals(org_a, stages_a, deals):
    result = _forecast(org_a, stages_a)

    assert result.won == Decimal("4000")
    assert result.commit == Decimal("6000")  # won + open commit
    assert result.best_case == Decimal("6500")  # commit + open best case
    assert result.pipeline_amount == Decimal("3500")
    assert result.weighted == Decimal("1800.00")  # 1000 x 20% + 2000 x 60% + 500 x 80%


def test_weighted_pipeline_by_close_month_and_stage(org_a, stages_a, deals):
    result = _forecast(org_a, stages_a)

    assert len(result.months) == 3
    assert result.grid == {
        (deals["m0"], stages_a[1].pk): Decimal("200.00"),
        (deals["m1"], stages_a[3].pk): Decimal("1200.00"),
        (deals["m1"], stages_a[4].pk): Decimal("400.00"),
    }
    assert result.month_totals[:2] == [Decimal("200.00"), Decimal("1600.00")]
    chart = result.chart_data()
    assert chart["labels"][0] == deals["m0"].isoformat()
    assert [d["label"] for d in chart["datasets"]] == [s.name for s in stages_a[:5]]


def test_weighted_pipeline_by_owner(org_a, alice, bob, stages_a, deals):
    result = _forecast(org_a, stages_a)

    rows = {row.owner_id: row for row in result.owners}
    assert (
        rows[bob.pk].count,
        rows[bob.pk].weighted,
        rows[bob.pk].best_case,
        rows[bob.pk].won,
    ) == (
        2,
        Decimal("600.00"),
        Decimal("500"),
        Decimal("4000"),
    )
    assert (rows[alice.pk].count, rows[alice.pk].weighted, rows[alice.pk].commit) == (
        1,
        Decimal("1200.00"),
        Decimal("2000"),
    )


def test_win_rate_deal_size_and_sales_cycle(org_a, stages_a, deals):
    result = _forecast(org_a, stages_a)

    assert (result.closed_won, result.closed_lost) == (2, 1)
    assert result.win_rate == pytest.approx(2 / 3)
    assert result.average_deal == Decimal("2000.00")
    assert result.average_cycle_days == pytest.approx(15.0, abs=0.1)


def test_stage_conversion_and_days_in_stage_from_the_history(org_a, stages_a):
    t0 = timezone.now() - timedelta(days=30)
    prospecting, qualification, _needs, proposal, _negotiation, won, lost = stages_a

    def history(opportunity, steps):
        previous = None
        with tenant_context(org_a):
            for stage, day in steps:
                StageChange.objects.create(
                    organization=org_a,
                    opportunity=opportunity,
                    from_stage=previous,
                    to_stage=stage,
                    changed_at=t0 + timedelta(days=day),
                )
                previous = stage

    history(
        OpportunityFactory(stage=won),
        [(prospecting, 0), (qualification, 2), (proposal, 6), (won, 10)],
    )
    history(OpportunityFactory(stage=lost), [(prospecting, 0), (qualification, 4), (lost, 5)])
    history(OpportunityFactory(stage=prospecting), [(prospecting, 0)])

    rows = {row.stage.name: row for row in _forecast(org_a, stages_a).stages}

    assert [row.stage for row in _forecast(org_a, stages_a).stages] == stages_a[:6]
    assert [rows[s.name].reached for s in stages_a[:6]] == [3, 2, 1, 1, 1, 1]
    assert rows["Prospecting"].conversion == pytest.approx(2 / 3)
    assert rows["Qualification"].conversion == pytest.approx(1 / 2)
    assert rows["Closed won"].conversion is None
    assert rows["Prospecting"].average_days == pytest.approx(3.0)
    assert rows["Qualification"].average_days == pytest.approx(2.5)
    assert rows["Proposal"].average_days == pytest.approx(4.0)
    assert rows["Closed won"].average_days is None


def test_an_empty_pipeline_has_no_rates(org_a, stages_a):
    result = _forecast(org_a, stages_a)

    assert (
        result.win_rate is None
        and result.average_deal is None
        and result.average_cycle_days is None
    )
    assert result.weighted == 0


@pytest.mark.parametrize("period", [p for p, _label in Period.choices])
def test_every_period_has_its_months(period):
    start, end = period_range(period, timezone.localdate())

    assert start <= timezone.localdate() <= end or period == Period.NEXT_QUARTER
    assert 3 <= len(months_between(start, end)) <= 12


def test_the_quarter_summary_of_the_home_page(org_a, stages_a, deals):
    with tenant_context(org_a):
        summary = quarter_summary(org=org_a)

    assert (summary["won"], summary["commit"], summary["best_case"], summary["weighted"]) == (
        Decimal("4000"),
        Decimal("6000"),
        Decimal("6500"),
        Decimal("1800.00"),
    )


# --- The page ---------------------------------------------------------------------------------


def test_the_forecast_page_shows_the_numbers_and_feeds_the_chart(
    org_a, alice, stages_a, deals, client_for
):
    response = client_for(alice).get(reverse("sales:forecast", args=[org_a.slug]))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="forecast-data"' in html and "chart.umd.min.js" in html
    assert "6,500" in html and "67%" in html


@pytest.mark.parametrize("query", ["?period=forever", "?pipeline=abc", "?pipeline=999999"])
def test_odd_forecast_parameters_fall_back(query, org_a, alice, stages_a, client_for):
    response = client_for(alice).get(reverse("sales:forecast", args=[org_a.slug]) + query)

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("manager", 200), ("sales", 403), ("support", 403)]
)
def test_the_forecast_is_for_managers_and_admins(
    role, status, org_a, member_of, stages_a, client_for
):
    response = client_for(member_of(org_a, role)).get(reverse("sales:forecast", args=[org_a.slug]))

    assert response.status_code == status


def test_the_forecast_costs_the_same_queries_for_few_or_many(
    org_a, org_b, alice, member_of, client_for
):
    from tests.factories import CustomerFactory

    _pipeline, stages_b = default_pipeline(org_b)
    manager_b = member_of(org_b, "manager")
    OpportunityFactory(stage=stages_b[1])
    _pipeline, stages = default_pipeline(org_a)
    customer = CustomerFactory(organization=org_a)
    today = timezone.localdate()
    for n in range(40):
        OpportunityFactory(
            stage=stages[n % 7],
            customer=customer,
            close_date=today + timedelta(days=n),
            closed_at=timezone.now() if n % 7 >= 5 else None,
            owner=alice,
        )
    counts = []
    for user, org in ((manager_b, org_b), (alice, org_a)):
        client = client_for(user)
        url = reverse("sales:forecast", args=[org.slug])
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        counts.append(len(queries))

    assert counts[0] == counts[1]
