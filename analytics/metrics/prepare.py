"""Clean an orders frame before any metric sees it, and say what was dropped and why."""

from dataclasses import dataclass, field

import pandas as pd

EXCLUDED_STATUSES = frozenset({"cancelled", "returned"})


@dataclass
class Prepared:
    orders: pd.DataFrame
    dropped: dict[str, int] = field(default_factory=dict)


def prepare_orders(orders: pd.DataFrame, *, as_of: pd.Timestamp) -> Prepared:
    """Keep completed, positive-value orders placed up to `as_of`.

    In: columns customer_id, ordered_at (timestamp), amount, and optionally cost, status,
    is_gift. Out: the kept rows (amount as float, ordered_at as timestamps) and the number of
    rows each rule dropped, in the order the rules apply: missing values, cancelled or
    returned, gifts (flagged or zero value), negative amounts, dates after `as_of`.
    """
    frame = orders.copy()
    dropped: dict[str, int] = {}

    def drop(rule: str, mask: pd.Series) -> None:
        nonlocal frame
        dropped[rule] = int(mask.sum())
        frame = frame.loc[~mask]

    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"], utc=True, errors="coerce")
    frame["amount"] = pd.to_numeric(frame["amount"], errors="coerce")
    drop("missing_values", frame[["customer_id", "ordered_at", "amount"]].isna().any(axis=1))
    if "status" in frame:
        drop("cancelled_or_returned", frame["status"].isin(EXCLUDED_STATUSES))
    gift = frame["amount"] == 0
    if "is_gift" in frame:
        gift = gift | frame["is_gift"].fillna(False).astype(bool)
    drop("gifts", gift)
    drop("negative_amounts", frame["amount"] < 0)
    as_of = pd.Timestamp(as_of)
    as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")
    drop("future_dates", frame["ordered_at"] > as_of)
    frame["amount"] = frame["amount"].astype(float)
    if "cost" in frame:
        frame["cost"] = pd.to_numeric(frame["cost"], errors="coerce").astype(float)
    return Prepared(orders=frame.reset_index(drop=True), dropped=dropped)
