"""RFM scoring, the named segment grid, and the customer value matrix.

The segment grid maps the recency score R (rows) and frequency score F (columns), 1-5 with 5
best, to a named segment:

    R \\ F |    1             2              3               4          5
    ------+---------------------------------------------------------------------
      5   | New           Potential L.   Potential L.    Champions  Champions
      4   | Promising     Potential L.   Potential L.    Loyal      Loyal
      3   | About to Sleep About to Sleep Need Attention  Loyal      Loyal
      2   | Hibernating   Hibernating    At Risk         At Risk    Can't Lose Them
      1   | Lost          Hibernating    At Risk         At Risk    Can't Lose Them

Scores are quintiles of the customers' ranks (ties broken by order of appearance), so each
score holds a fifth of the customers even when many share a value (most customers buy once).
"""

import numpy as np
import pandas as pd

from analytics.metrics import summary

GRID = {
    5: ["new", "potential_loyalists", "potential_loyalists", "champions", "champions"],
    4: ["promising", "potential_loyalists", "potential_loyalists", "loyal", "loyal"],
    3: ["about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"],
    2: ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"],
    1: ["lost", "hibernating", "at_risk", "at_risk", "cant_lose"],
}


def segment_for(r: int, f: int) -> str:
    return GRID[int(r)][int(f) - 1]


def quintile_scores(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    """1-5 by quintile of rank; ties are broken by position so quintile edges never collapse."""
    if values.empty:
        return pd.Series(dtype="int64", index=values.index)
    ranks = (values if higher_is_better else -values).rank(method="first")
    bins = min(5, len(values))
    scores = pd.qcut(ranks, bins, labels=False) + 1
    if bins < 5:  # fewer than five customers: spread the scores over 1-5
        scores = np.ceil(scores * 5 / bins)
    return scores.astype("int64")


def score(orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per customer: recency (days since last order), frequency (orders), monetary (total spent),
    r/f/m scores 1-5, segment, average order value and value quadrant.

    `orders` must be prepared (prepare.prepare_orders): completed orders up to `as_of`.
    """
    return score_summary(summary.customer_summary(orders, as_of=as_of), as_of)


_GRID = np.array([GRID[r] for r in range(1, 6)], dtype=object)  # _GRID[r - 1, f - 1]


def score_summary(customers: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """`score` from the per-customer summary (summary.COLUMNS: last_at, orders, revenue)."""
    as_of = summary.utc_timestamp(as_of)
    result = pd.DataFrame(index=customers.index)
    result["recency"] = (as_of - customers["last_at"]).dt.days.astype("int64")
    result["frequency"] = customers["orders"].astype("int64")
    result["monetary"] = customers["revenue"].astype(float)
    result["r"] = quintile_scores(result["recency"], higher_is_better=False)
    result["f"] = quintile_scores(result["frequency"])
    result["m"] = quintile_scores(result["monetary"])
    result["segment"] = _GRID[result["r"].to_numpy() - 1, result["f"].to_numpy() - 1]
    result["average_order_value"] = result["monetary"] / result["frequency"]
    result["quadrant"] = value_quadrant(result["average_order_value"], result["frequency"])
    return result


def value_quadrant(average_order_value: pd.Series, frequency: pd.Series) -> pd.Series:
    """Customer value matrix: above the median on both -> best; on spend only -> spenders; on
    frequency only -> frequent; on neither -> uncertain."""
    high_value = average_order_value > average_order_value.median()
    high_frequency = frequency > frequency.median()
    quadrant = np.select(
        [high_value & high_frequency, high_value, high_frequency],
        ["best", "spenders", "frequent"],
        default="uncertain",
    )
    return pd.Series(quadrant, index=average_order_value.index)
