"""Monthly acquisition cohorts: who keeps buying, and how much revenue each cohort retains."""

import pandas as pd


def cohort_tables(orders: pd.DataFrame, *, max_months: int = 24) -> dict[str, pd.DataFrame]:
    """Cohort = month of a customer's first purchase. Out:

    - "customers": cohort size per cohort;
    - "active_share": rows cohorts, columns months since first purchase (0..), share of the
      cohort's customers buying in that month;
    - "revenue_retained": revenue in that month relative to the cohort's month-0 revenue.
    """
    frame = orders[["customer_id", "ordered_at", "amount"]].copy()
    month = frame["ordered_at"].dt.tz_localize(None).dt.to_period("M")
    frame["month"] = month
    first = frame.groupby("customer_id")["month"].transform("min")
    frame["cohort"] = first
    frame["age"] = (month - first).apply(lambda offset: offset.n).astype(int)
    frame = frame[frame["age"] <= max_months]
    sizes = frame.groupby("cohort")["customer_id"].nunique()
    active = frame.groupby(["cohort", "age"])["customer_id"].nunique().unstack(fill_value=0)
    revenue = frame.groupby(["cohort", "age"])["amount"].sum().unstack(fill_value=0.0)
    return {
        "customers": sizes.rename("customers").to_frame(),
        "active_share": active.div(sizes, axis=0),
        "revenue_retained": revenue.div(revenue[0], axis=0),
    }


def repeat_purchase_rate(orders: pd.DataFrame) -> float:
    """Share of customers with at least two purchases."""
    counts = orders.groupby("customer_id").size()
    return float((counts >= 2).mean()) if len(counts) else 0.0
