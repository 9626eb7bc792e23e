"""Customer profitability: what a customer earned us, net of what we spent on them, plus what
the lifetime-value model expects them to earn us next.

    profitability = (revenue - product cost)              lifetime gross margin
                    - marketing cost                        campaigns that targeted them, shared
                                                            equally over each campaign's members
                    - service cost                          ticket handling hours x hourly cost
                    + predicted future margin               from clv.clv(...)
"""

import numpy as np
import pandas as pd


def customer_profitability(
    orders: pd.DataFrame,
    *,
    campaign_costs: pd.DataFrame | None = None,
    campaign_members: pd.DataFrame | None = None,
    tickets: pd.DataFrame | None = None,
    hourly_service_cost: float = 0.0,
    future_margin: pd.Series | None = None,
    default_margin_rate: float | None = None,
) -> pd.DataFrame:
    """Per customer: revenue, product_cost, gross_margin, marketing_cost, service_cost,
    future_margin and profitability.

    In: prepared `orders` (customer_id, amount, optional cost: a missing cost is estimated with
    `default_margin_rate` when given, else counted as zero); `campaign_costs` (campaign_id,
    cost) and `campaign_members` (campaign_id, customer_id); `tickets` (customer_id,
    handling_minutes); `future_margin` indexed by customer.
    """
    frame = orders.copy()
    if "cost" not in frame:
        frame["cost"] = np.nan
    known = frame["cost"].notna()
    frame["known_cost"] = frame["cost"].where(known, 0.0)
    frame["costed_revenue"] = frame["amount"].where(known, 0.0)
    totals = frame.groupby("customer_id").agg(
        revenue=("amount", "sum"),
        known_cost=("known_cost", "sum"),
        costed_revenue=("costed_revenue", "sum"),
    )
    return profitability_from_summary(
        totals,
        campaign_costs=campaign_costs,
        campaign_members=campaign_members,
        tickets=tickets,
        hourly_service_cost=hourly_service_cost,
        future_margin=future_margin,
        default_margin_rate=default_margin_rate,
    )


def profitability_from_summary(
    customers: pd.DataFrame,
    *,
    campaign_costs: pd.DataFrame | None = None,
    campaign_members: pd.DataFrame | None = None,
    tickets: pd.DataFrame | None = None,
    hourly_service_cost: float = 0.0,
    future_margin: pd.Series | None = None,
    default_margin_rate: float | None = None,
) -> pd.DataFrame:
    """`customer_profitability` from per-customer totals (summary.COLUMNS): revenue, known_cost
    (cost of the orders whose cost is known) and costed_revenue (their value)."""
    revenue = customers["revenue"].astype(float)
    product_cost = customers["known_cost"].astype(float)
    if default_margin_rate is not None:
        uncosted = revenue - customers["costed_revenue"].astype(float)
        product_cost = product_cost + uncosted * (1 - default_margin_rate)
    result = pd.DataFrame({"revenue": revenue, "product_cost": product_cost})
    customers = result.index

    marketing = pd.Series(0.0, index=customers)
    if campaign_costs is not None and campaign_members is not None and len(campaign_members):
        size = campaign_members.groupby("campaign_id")["customer_id"].transform("size")
        share = campaign_members.assign(size=size).merge(
            campaign_costs, on="campaign_id", how="left"
        )
        share["share"] = share["cost"].fillna(0.0) / share["size"]
        marketing = share.groupby("customer_id")["share"].sum().reindex(customers, fill_value=0.0)

    service = pd.Series(0.0, index=customers)
    if tickets is not None and len(tickets):
        hours = tickets.groupby("customer_id")["handling_minutes"].sum() / 60.0
        service = (hours * hourly_service_cost).reindex(customers, fill_value=0.0)

    future = (
        future_margin.reindex(customers, fill_value=0.0)
        if future_margin is not None
        else pd.Series(0.0, index=customers)
    )
    result["gross_margin"] = result["revenue"] - result["product_cost"]
    result["marketing_cost"] = marketing
    result["service_cost"] = service
    result["future_margin"] = future
    result["profitability"] = (
        result["gross_margin"]
        - result["marketing_cost"]
        - result["service_cost"]
        + result["future_margin"]
    )
    return result


def pareto_share(profit: pd.Series, top: float = 0.2) -> float:
    """Share of the total profit that the top `top` fraction of customers bring in."""
    total = float(profit.sum())
    if total <= 0 or profit.empty:
        return 0.0
    n = max(1, int(np.ceil(len(profit) * top)))
    return float(profit.sort_values(ascending=False).iloc[:n].sum() / total)
