"""Per-customer order summary: what every metric of the nightly job needs from the orders.

RFM needs each customer's last order, order count and spend; BG/NBD and Gamma-Gamma their
distinct purchase days, first and last purchase day and the spend of the first day; churn the
same figures at the training cutoff plus the orders of the last 90 days; profitability the spend
and the known product cost. All of them are per-customer counts, sums, minima and maxima, so the
job reads this summary (aggregated by the database on PostgreSQL, see
analytics/pipeline.py) instead of every order, and the metrics take it as input.

`customer_summary` computes the same table from a frame of prepared orders: the metrics' tests
and the plain (SQLite) path use it, and a test checks that the database's aggregation agrees.
"""

import numpy as np
import pandas as pd

NS_PER_DAY = 86_400 * 10**9
RECENT_DAYS = 90

# Summary columns. Days are whole days since 1970-01-01 in UTC (a purchase day is a calendar
# day, so several orders on one day are one BG/NBD transaction); timestamps are UTC.
COLUMNS = {
    "orders": "int64",  # completed orders up to as_of
    "revenue": "float64",  # their total value
    "first_at": "datetime64[ns, UTC]",  # first order
    "last_at": "datetime64[ns, UTC]",  # last order
    "first_day": "int64",  # day of the first order
    "last_day": "int64",  # day of the last order
    "purchase_days": "int64",  # distinct days with an order
    "first_day_revenue": "float64",  # value ordered on the first day
    "known_cost": "float64",  # product cost of the orders whose cost is known
    "costed_revenue": "float64",  # value of the orders whose cost is known
    "recent_orders": "int64",  # orders in the RECENT_DAYS before as_of
    # The same at the churn model's training cutoff (zero / NaT when it has no order by then):
    "cutoff_orders": "int64",
    "cutoff_revenue": "float64",
    "cutoff_last_at": "datetime64[ns, UTC]",
    "cutoff_last_day": "int64",
    "cutoff_purchase_days": "int64",
    "cutoff_recent_orders": "int64",
}


def utc_timestamp(value) -> pd.Timestamp:
    value = pd.Timestamp(value)
    return value.tz_localize("UTC") if value.tzinfo is None else value.tz_convert("UTC")


def day_number(value) -> int:
    """Whole days from 1970-01-01 to the UTC calendar day of `value`."""
    return int(utc_timestamp(value).as_unit("ns").value // NS_PER_DAY)


def empty() -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in COLUMNS.items()})
    frame.index.name = "customer_id"
    return frame


def customer_summary(
    orders: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    cutoff: pd.Timestamp | None = None,
    recent_days: int = RECENT_DAYS,
) -> pd.DataFrame:
    """One row per customer with an order up to `as_of`, indexed by customer_id (ascending), in
    the columns of COLUMNS.

    In: prepared orders (prepare.prepare_orders): customer_id, ordered_at, amount, optional
    cost. Orders after `as_of` are ignored. Without `cutoff` the cutoff columns describe
    `as_of`.
    """
    stamps = pd.to_datetime(orders["ordered_at"], utc=True).dt.as_unit("ns")
    return summarize(
        customer_id=orders["customer_id"].to_numpy(dtype=np.int64),
        ordered_at=stamps.dt.tz_localize(None).to_numpy().view(np.int64),
        amount=orders["amount"].to_numpy(dtype=float),
        cost=orders["cost"].to_numpy(dtype=float) if "cost" in orders else None,
        as_of=as_of,
        cutoff=cutoff,
        recent_days=recent_days,
    )


def summarize(
    *,
    customer_id: np.ndarray,
    ordered_at: np.ndarray,
    amount: np.ndarray,
    cost: np.ndarray | None,
    as_of: pd.Timestamp,
    cutoff: pd.Timestamp | None = None,
    recent_days: int = RECENT_DAYS,
) -> pd.DataFrame:
    """`customer_summary` from arrays: customer ids (int64), order times (int64 nanoseconds
    since 1970-01-01 UTC), values and costs (float, NaN when unknown), in any order.

    Vectorized with numpy: one sort of (customer, day) pairs and a few passes of bincount and
    minimum/maximum; a few seconds for ten million orders. Sums of money are rounded to cents.
    """
    as_of = utc_timestamp(as_of)
    cutoff = as_of if cutoff is None else utc_timestamp(cutoff)
    as_of_ns, cutoff_ns = as_of.as_unit("ns").value, cutoff.as_unit("ns").value
    keep = ordered_at <= as_of_ns
    if not keep.all():
        customer_id, ordered_at, amount = customer_id[keep], ordered_at[keep], amount[keep]
        cost = cost[keep] if cost is not None else None
    if len(customer_id) == 0:
        return empty()
    codes, customers = _codes(customer_id)
    n = len(customers)
    before = ordered_at <= cutoff_ns
    recent_ns = pd.Timedelta(days=recent_days).value

    def count(mask: np.ndarray | None = None) -> np.ndarray:
        chosen = codes if mask is None else codes[mask]
        return np.bincount(chosen, minlength=n)

    def total(values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Sum per customer, rounded to cents: the database returns orders in no fixed order,
        and floating-point sums in another order differ in their last bits, which would make
        a rerun's scores differ from the first run's (ties in the RFM quintiles, say)."""
        if mask is None:
            sums = np.bincount(codes, weights=values, minlength=n)
        else:
            sums = np.bincount(codes[mask], weights=values[mask], minlength=n)
        return np.round(sums, 2)

    first_at = np.full(n, np.iinfo(np.int64).max)
    last_at = np.full(n, NAT)
    cutoff_last_at = np.full(n, NAT)
    np.minimum.at(first_at, codes, ordered_at)
    np.maximum.at(last_at, codes, ordered_at)
    np.maximum.at(cutoff_last_at, codes, np.where(before, ordered_at, NAT))
    days = ordered_at // NS_PER_DAY
    first_day = first_at // NS_PER_DAY
    # Distinct (customer, day) pairs, and whether the pair has an order by the cutoff: sorted
    # keys (customer, day, not-before) put a pair's by-the-cutoff order first.
    keys = days - days.min()  # the day's offset: 22 bits are 11,000 years
    keys <<= 1
    keys |= ~before
    keys |= codes << 23
    keys.sort()
    starts = np.r_[True, (keys[1:] >> 1) != (keys[:-1] >> 1)]
    pair_keys = keys[starts]
    pair_codes = pair_keys >> 23
    on_first_day = days == first_day[codes]
    known = ~np.isnan(cost) if cost is not None else np.zeros(len(codes), dtype=bool)
    has_cutoff = cutoff_last_at != NAT
    frame = pd.DataFrame(
        {
            "orders": count(),
            "revenue": total(amount),
            "first_at": first_at,
            "last_at": last_at,
            "first_day": first_day,
            "last_day": last_at // NS_PER_DAY,
            "purchase_days": np.bincount(pair_codes, minlength=n),
            "first_day_revenue": total(amount, on_first_day),
            "known_cost": total(cost, known) if cost is not None else np.zeros(n),
            "costed_revenue": total(amount, known),
            "recent_orders": count(ordered_at > as_of_ns - recent_ns),
            "cutoff_orders": count(before),
            "cutoff_revenue": total(amount, before),
            "cutoff_last_at": cutoff_last_at,
            "cutoff_last_day": np.where(has_cutoff, cutoff_last_at // NS_PER_DAY, 0),
            "cutoff_purchase_days": np.bincount(pair_codes[(pair_keys & 1) == 0], minlength=n),
            "cutoff_recent_orders": count(before & (ordered_at > cutoff_ns - recent_ns)),
        },
        index=pd.Index(customers, name="customer_id"),
    )
    for name in ("first_at", "last_at", "cutoff_last_at"):
        frame[name] = pd.to_datetime(frame[name], unit="ns", utc=True)
    return frame


NAT = np.iinfo(np.int64).min  # numpy's NaT as int64


def _codes(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes 0..n-1 numbering the distinct ids in ascending order.

    Ids of one organization are mostly a dense range, so a lookup table over the range does
    it in a few passes; otherwise hashing (pd.factorize) and ranking the distinct ids.
    """
    low, high = int(ids.min()), int(ids.max())
    if high - low < 8 * len(ids) + 1_000_000:
        present = np.zeros(high - low + 1, dtype=bool)
        present[ids - low] = True
        rank = np.cumsum(present) - 1
        return rank[ids - low], np.flatnonzero(present) + low
    codes, uniques = pd.factorize(ids)
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], uniques[order]
