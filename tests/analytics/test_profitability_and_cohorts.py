import pandas as pd
import pytest

from analytics.metrics import cohorts, profitability


def _orders():
    return pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 3],
            "ordered_at": pd.to_datetime(
                ["2026-01-05", "2026-03-10", "2026-01-20", "2026-02-02"], utc=True
            ),
            "amount": [100.0, 50.0, 200.0, 80.0],
            "cost": [60.0, None, 150.0, 40.0],
        }
    )


def test_profitability_subtracts_marketing_and_service_and_adds_the_future():
    result = profitability.customer_profitability(
        _orders(),
        campaign_costs=pd.DataFrame({"campaign_id": [10], "cost": [30.0]}),
        campaign_members=pd.DataFrame({"campaign_id": [10, 10, 10], "customer_id": [1, 2, 3]}),
        tickets=pd.DataFrame({"customer_id": [2, 2], "handling_minutes": [30, 90]}),
        hourly_service_cost=40.0,
        future_margin=pd.Series({1: 25.0}),
        default_margin_rate=0.4,
    )
    one = result.loc[1]
    assert one["revenue"] == 150.0
    assert one["product_cost"] == pytest.approx(60.0 + 30.0)  # missing cost at a 40 % margin
    assert one["marketing_cost"] == pytest.approx(10.0)
    assert one["profitability"] == pytest.approx(150 - 90 - 10 + 25)
    two = result.loc[2]
    assert two["service_cost"] == pytest.approx(80.0)  # two hours at 40
    assert two["profitability"] == pytest.approx(200 - 150 - 10 - 80)


def test_pareto_share():
    profit = pd.Series([80.0, 10.0, 5.0, 3.0, 2.0])
    assert profitability.pareto_share(profit, top=0.2) == pytest.approx(0.8)
    assert profitability.pareto_share(pd.Series([-1.0, -2.0])) == 0.0


def test_cohorts_follow_customers_by_month_since_first_purchase():
    tables = cohorts.cohort_tables(_orders())
    january = pd.Period("2026-01", "M")
    assert tables["customers"].loc[january, "customers"] == 2
    assert tables["active_share"].loc[january, 0] == 1.0
    assert tables["active_share"].loc[january, 2] == 0.5  # customer 1 bought again in March
    assert tables["revenue_retained"].loc[january, 2] == pytest.approx(50 / 300)


def test_repeat_purchase_rate():
    assert cohorts.repeat_purchase_rate(_orders()) == pytest.approx(1 / 3)
