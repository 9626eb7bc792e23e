"""The per-customer summary every metric works from (analytics/metrics/summary.py)."""

import numpy as np
import pandas as pd
import pytest

from analytics.metrics import summary

AS_OF = pd.Timestamp("2026-06-30 23:59:59.999999", tz="UTC")
CUTOFF = pd.Timestamp("2026-04-01 23:59:59.999999", tz="UTC")


def _orders(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount", "cost"])
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"], utc=True)
    return frame


@pytest.fixture
def summarized() -> pd.DataFrame:
    return summary.customer_summary(
        _orders(
            [
                (7, "2026-01-10 09:00", 100.0, 60.0),
                (7, "2026-01-10 17:30", 20.0, None),  # same day: one purchase day
                (7, "2026-03-05 12:00", 50.0, 30.0),
                (7, "2026-06-20 08:00", 80.0, 50.0),
                (3, "2026-05-01 10:00", 40.0, 25.0),
                (3, "2026-07-02 10:00", 999.0, 1.0),  # after as_of: ignored
            ]
        ),
        as_of=AS_OF,
        cutoff=CUTOFF,
    )


def test_it_has_one_row_per_customer_in_id_order(summarized):
    assert summarized.index.tolist() == [3, 7]
    assert list(summarized.columns) == list(summary.COLUMNS)


def test_it_counts_orders_purchase_days_and_spend(summarized):
    seven = summarized.loc[7]
    assert seven["orders"] == 4 and seven["purchase_days"] == 3
    assert seven["revenue"] == pytest.approx(250.0)
    assert seven["first_day_revenue"] == pytest.approx(120.0)  # both orders of the first day
    assert seven["first_at"] == pd.Timestamp("2026-01-10 09:00", tz="UTC")
    assert (
        seven["last_day"] - seven["first_day"]
        == (pd.Timestamp("2026-06-20") - pd.Timestamp("2026-01-10")).days
    )
    assert seven["recent_orders"] == 1  # within 90 days of as_of


def test_it_keeps_known_costs_apart(summarized):
    seven = summarized.loc[7]
    assert seven["known_cost"] == pytest.approx(140.0)
    assert seven["costed_revenue"] == pytest.approx(230.0)  # the order without a cost left out


def test_the_cutoff_columns_see_only_the_orders_before_it(summarized):
    seven, three = summarized.loc[7], summarized.loc[3]
    assert seven["cutoff_orders"] == 3 and seven["cutoff_purchase_days"] == 2
    assert seven["cutoff_revenue"] == pytest.approx(170.0)
    assert seven["cutoff_last_at"] == pd.Timestamp("2026-03-05 12:00", tz="UTC")
    assert three["cutoff_orders"] == 0 and pd.isna(three["cutoff_last_at"])


def test_an_empty_frame_gives_an_empty_summary():
    frame = summary.customer_summary(_orders([]), as_of=AS_OF)
    assert frame.empty and list(frame.columns) == list(summary.COLUMNS)


def test_sparse_customer_ids_are_numbered_too():
    ids = np.array([10**12, 5, 10**12, 7], dtype=np.int64)
    frame = summary.summarize(
        customer_id=ids,
        ordered_at=np.array([0, 1, 2, 3], dtype=np.int64) * summary.NS_PER_DAY,
        amount=np.ones(4),
        cost=None,
        as_of=AS_OF,
    )
    assert frame.index.tolist() == [5, 7, 10**12]
    assert frame.loc[10**12, "orders"] == 2 and frame.loc[10**12, "purchase_days"] == 2


def test_the_coarse_sort_keys_never_decrease_as_the_value_grows():
    from analytics.models import churn_sort_key, clv_sort_key

    values = [-5000.0, -12.5, -0.01, 0.0, 0.01, 0.99, 1.0, 99.5, 100.0, 104.9, 105.2, 1e6]
    keys = [clv_sort_key(v) for v in values]
    assert keys == sorted(keys)
    assert clv_sort_key(100.0) == clv_sort_key(102.0)  # about 5% steps
    assert clv_sort_key(100.0) < clv_sort_key(110.0)
    assert clv_sort_key(None) is None
    assert [churn_sort_key(p) for p in (0.0, 0.004, 0.01, 0.5, 0.999, 1.0)] == [
        0,
        0,
        1,
        50,
        99,
        100,
    ]
    assert churn_sort_key(None) is None
    assert churn_sort_key(float("nan")) is None
