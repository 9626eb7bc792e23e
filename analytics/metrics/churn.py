"""Churn probability: will a customer make no purchase within the horizon after `as_of`?

Trained only on data before `as_of` with a time split: features are computed at an earlier
cutoff (as_of - horizon), the label is "no purchase between the cutoff and as_of". Two models are
compared on held-out customers:

- BG/NBD: 1 - P(at least one purchase in the horizon), fitted on the history before the cutoff;
- a logistic regression on RFM-style features (scikit-learn), whose coefficients also give each
  customer's top reasons.

The one with the better held-out AUC scores every customer at `as_of`. AUC, Brier score and a
reliability table (predicted vs observed churn per decile) are reported for every run. Raw
BG/NBD P(alive) is never used as the churn score: it is 1 for every customer without a repeat
purchase and ranks churners backwards.

A young business whose history before `as_of` is shorter than two horizons trains on a shorter
window (half the history) instead of failing.

Everything here needs only per-customer figures at the cutoff and at `as_of`
(summary.customer_summary): `predict_summary` works from that summary, which the nightly job
reads aggregated by the database; `predict` builds it from a frame of orders.
"""

from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from analytics.metrics import clv, summary

FEATURES = ["log_recency", "log_frequency", "log_avg_value", "log_tenure", "orders_last_90d"]
REASONS = {
    "log_recency": "long_since_last_order",
    "log_frequency": "few_orders",
    "log_avg_value": "low_order_value",
    "log_tenure": "short_relationship",
    "orders_last_90d": "no_recent_orders",
}


@dataclass
class ChurnResult:
    probability: pd.Series  # per customer, P(no purchase within the horizon)
    model: str  # "bgnbd" or "logistic"
    metrics: dict = field(default_factory=dict)
    # The (up to) two features pushing each customer's churn up the most: indexes into FEATURES
    # (-1: none) and the features' values in their own units (days, orders, money).
    reason_features: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=int))
    reason_values: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    @cached_property
    def reasons(self) -> pd.Series:
        """Per customer, the list of (reason code, value) pushing churn up most."""
        codes = [REASONS[name] for name in FEATURES]
        return pd.Series(
            [
                [(codes[j], float(v)) for j, v in zip(row, values, strict=True) if j >= 0]
                for row, values in zip(
                    self.reason_features.tolist(), self.reason_values.tolist(), strict=True
                )
            ],
            index=self.probability.index,
            dtype=object,
        )


def training_window(
    first_order_at: pd.Timestamp, as_of: pd.Timestamp, horizon_days: int
) -> tuple[int, pd.Timestamp]:
    """(training horizon in days, cutoff): the cutoff is one horizon before `as_of`, or half
    the history when the history is shorter than two horizons."""
    as_of = summary.utc_timestamp(as_of)
    history_days = (as_of - summary.utc_timestamp(first_order_at)).days
    train_horizon = horizon_days if history_days >= 2 * horizon_days else max(history_days // 2, 1)
    return train_horizon, as_of - pd.Timedelta(days=train_horizon)


def features_at(orders: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """RFM-style features per customer from the orders placed up to `cutoff`."""
    return features_from_summary(summary.customer_summary(orders, as_of=cutoff), cutoff)


def features_from_summary(
    customers: pd.DataFrame, at: pd.Timestamp, *, at_cutoff: bool = False
) -> pd.DataFrame:
    """The features at `at` from the summary: its as-of columns, or with `at_cutoff` its cutoff
    columns (customers without an order by the cutoff left out)."""
    at = summary.utc_timestamp(at)
    prefix = "cutoff_" if at_cutoff else ""
    if at_cutoff:
        customers = customers[customers["cutoff_orders"] > 0]
    frequency = customers[f"{prefix}orders"].to_numpy(dtype=float)
    frame = pd.DataFrame(index=customers.index)
    frame["recency_days"] = (at - customers[f"{prefix}last_at"]).dt.days.astype("int64")
    frame["tenure_days"] = (at - customers["first_at"]).dt.days.astype("int64")
    frame["frequency"] = customers[f"{prefix}orders"].astype("int64")
    frame["avg_value"] = customers[f"{prefix}revenue"].to_numpy(dtype=float) / frequency
    frame["log_recency"] = np.log1p(frame["recency_days"])
    frame["log_frequency"] = np.log1p(frame["frequency"])
    frame["log_avg_value"] = np.log1p(frame["avg_value"].clip(lower=0))
    frame["log_tenure"] = np.log1p(frame["tenure_days"])
    frame["orders_last_90d"] = customers[f"{prefix}recent_orders"].astype(float)
    return frame


def bgnbd_inputs(
    customers: pd.DataFrame, at: pd.Timestamp, *, at_cutoff: bool = False
) -> pd.DataFrame:
    """frequency (repeat purchase days), recency and T in days, per customer, at `at`."""
    prefix = "cutoff_" if at_cutoff else ""
    first_day = customers["first_day"].to_numpy()
    return pd.DataFrame(
        {
            "frequency": (customers[f"{prefix}purchase_days"].to_numpy() - 1).astype(float),
            "recency": (customers[f"{prefix}last_day"].to_numpy() - first_day).astype(float),
            "T": (summary.day_number(at) - first_day).astype(float),
        },
        index=customers.index,
    )


def _reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    edges = np.linspace(0, 1, bins + 1)
    table = []
    for low, high in pairwise(edges):
        mask = (p >= low) & ((p < high) | (high == 1.0))
        if mask.any():
            table.append(
                {
                    "bin": f"{low:.1f}-{high:.1f}",
                    "customers": int(mask.sum()),
                    "predicted": float(p[mask].mean()),
                    "observed": float(y[mask].mean()),
                }
            )
    return table


def _evaluate(y: np.ndarray, p: np.ndarray) -> dict:
    auc = float(roc_auc_score(y, p)) if len(set(y)) == 2 else float("nan")
    return {"auc": auc, "brier": float(brier_score_loss(y, p)), "reliability": _reliability(y, p)}


def predict(
    orders: pd.DataFrame,
    as_of: pd.Timestamp,
    horizon_days: int = 90,
    *,
    seed: int = 0,
    bgnbd_at_as_of: clv.BgNbdParams | None = None,
) -> ChurnResult:
    """P(no purchase within `horizon_days` after `as_of`) for every customer with an order.

    `orders` must be prepared (prepare.prepare_orders): customer_id, ordered_at (UTC), amount.
    `bgnbd_at_as_of`: BG/NBD parameters already fitted on the history up to `as_of` (in days),
    reused instead of fitting again when BG/NBD wins.
    """
    as_of = summary.utc_timestamp(as_of)
    orders = orders[orders["ordered_at"] <= as_of]
    first = orders["ordered_at"].min() if len(orders) else as_of
    _train_horizon, cutoff = training_window(first, as_of, horizon_days)
    customers = summary.customer_summary(orders, as_of=as_of, cutoff=cutoff)
    return predict_summary(customers, as_of, horizon_days, seed=seed, bgnbd_at_as_of=bgnbd_at_as_of)


def predict_summary(
    customers: pd.DataFrame,
    as_of: pd.Timestamp,
    horizon_days: int = 90,
    *,
    seed: int = 0,
    bgnbd_at_as_of: clv.BgNbdParams | None = None,
) -> ChurnResult:
    """`predict` from the per-customer summary, whose cutoff columns must describe the cutoff
    of `training_window(first order, as_of, horizon_days)`."""
    as_of = summary.utc_timestamp(as_of)
    first = customers["first_at"].min() if len(customers) else as_of
    train_horizon, cutoff = training_window(first, as_of, horizon_days)

    trained = customers[customers["cutoff_orders"].to_numpy() > 0]
    train = features_from_summary(trained, cutoff, at_cutoff=True)
    y = (trained["orders"] == trained["cutoff_orders"]).to_numpy().astype(int)  # 1 = churned

    rng = np.random.default_rng(seed)
    holdout = rng.random(len(train)) < 0.3
    metrics: dict = {"train_horizon_days": int(train_horizon), "customers_trained": len(train)}

    # Logistic regression on the features.
    mean = train[FEATURES].mean()
    std = train[FEATURES].std().replace(0, 1).fillna(1)
    x = ((train[FEATURES] - mean) / std).to_numpy()
    logistic = None
    if len(set(y[~holdout])) == 2:
        logistic = LogisticRegression(max_iter=1000).fit(x[~holdout], y[~holdout])
        metrics["logistic"] = (
            _evaluate(y[holdout], logistic.predict_proba(x[holdout])[:, 1]) if holdout.any() else {}
        )

    # BG/NBD fitted on the history before the cutoff.
    before = bgnbd_inputs(trained, cutoff, at_cutoff=True)
    try:
        bgnbd_params = clv.fit_bgnbd(before["frequency"], before["recency"], before["T"])
        p_bg = 1 - clv.probability_of_purchase(
            bgnbd_params, train_horizon, before["frequency"], before["recency"], before["T"]
        )
        metrics["bgnbd"] = _evaluate(y[holdout], np.asarray(p_bg)[holdout]) if holdout.any() else {}
    except (ValueError, FloatingPointError, ZeroDivisionError):
        metrics["bgnbd"] = {}

    def auc(name: str) -> float:
        value = metrics.get(name, {}).get("auc", float("nan"))
        return -1.0 if np.isnan(value) else value

    use_logistic = logistic is not None and auc("logistic") >= auc("bgnbd")
    now = features_from_summary(customers, as_of)
    reason_features = np.full((len(now), 2), -1)
    reason_values = np.zeros((len(now), 2))
    if logistic is not None:
        # The logistic coefficients explain the score whichever model produced it: per customer,
        # the two features that push churn up the most.
        x_now = ((now[FEATURES] - mean) / std).to_numpy()
        contributions = x_now * logistic.coef_[0]
        top = np.argsort(-contributions, axis=1, kind="stable")[:, :2]
        rows = np.arange(len(now))[:, None]
        shown = now[[_REASON_VALUE[name] for name in FEATURES]].to_numpy(dtype=float)
        reason_features = np.where(contributions[rows, top] > 0, top, -1)
        reason_values = np.where(reason_features >= 0, shown[rows, top], 0.0)
    if use_logistic:
        probability = logistic.predict_proba(x_now)[:, 1]
        model = "logistic"
    else:
        full = bgnbd_inputs(customers, as_of)
        params = bgnbd_at_as_of or clv.fit_bgnbd(full["frequency"], full["recency"], full["T"])
        probability = 1 - clv.probability_of_purchase(
            params, horizon_days, full["frequency"], full["recency"], full["T"]
        )
        model = "bgnbd"
    return ChurnResult(
        probability=pd.Series(
            np.asarray(probability, dtype=float), index=now.index, name="churn_probability"
        ),
        model=model,
        metrics=metrics,
        reason_features=reason_features,
        reason_values=reason_values,
    )


# The value each reason shows, in the feature's own units.
_REASON_VALUE = {
    "log_recency": "recency_days",
    "log_frequency": "frequency",
    "log_avg_value": "avg_value",
    "log_tenure": "tenure_days",
    "orders_last_90d": "orders_last_90d",
}
