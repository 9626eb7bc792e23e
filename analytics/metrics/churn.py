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
"""

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from analytics.metrics import clv

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
    reasons: pd.Series  # per customer, list of (reason code, value) pushing churn up most
    model: str  # "bgnbd" or "logistic"
    metrics: dict = field(default_factory=dict)


def features_at(orders: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """RFM-style features per customer from the orders placed up to `cutoff`."""
    past = orders[orders["ordered_at"] <= cutoff]
    grouped = past.groupby("customer_id").agg(
        first=("ordered_at", "min"),
        last=("ordered_at", "max"),
        frequency=("amount", "size"),
        monetary=("amount", "sum"),
    )
    recent = past[past["ordered_at"] > cutoff - pd.Timedelta(days=90)].groupby("customer_id").size()
    frame = pd.DataFrame(index=grouped.index)
    frame["recency_days"] = (cutoff - grouped["last"]).dt.days
    frame["tenure_days"] = (cutoff - grouped["first"]).dt.days
    frame["frequency"] = grouped["frequency"]
    frame["avg_value"] = grouped["monetary"] / grouped["frequency"]
    frame["log_recency"] = np.log1p(frame["recency_days"])
    frame["log_frequency"] = np.log1p(frame["frequency"])
    frame["log_avg_value"] = np.log1p(frame["avg_value"].clip(lower=0))
    frame["log_tenure"] = np.log1p(frame["tenure_days"])
    frame["orders_last_90d"] = recent.reindex(frame.index, fill_value=0).astype(float)
    return frame


def _bgnbd_summary(orders: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """frequency (repeat purchases, distinct days), recency and T in days, per customer."""
    past = orders[orders["ordered_at"] <= cutoff]
    days = past.assign(day=past["ordered_at"].dt.floor("D")).groupby(["customer_id", "day"]).size()
    per = days.reset_index().groupby("customer_id")["day"].agg(["min", "max", "size"])
    return pd.DataFrame(
        {
            "frequency": per["size"] - 1,
            "recency": (per["max"] - per["min"]).dt.days.astype(float),
            "T": (cutoff.floor("D") - per["min"]).dt.days.astype(float),
        }
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
    as_of = pd.Timestamp(as_of)
    as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")
    orders = orders[orders["ordered_at"] <= as_of]
    history_days = (as_of - orders["ordered_at"].min()).days if len(orders) else 0
    train_horizon = horizon_days if history_days >= 2 * horizon_days else max(history_days // 2, 1)
    cutoff = as_of - pd.Timedelta(days=train_horizon)

    train = features_at(orders, cutoff)
    bought_after = set(orders.loc[orders["ordered_at"] > cutoff, "customer_id"])
    y = (~train.index.isin(bought_after)).astype(int)  # 1 = churned (no purchase)

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
    summary = _bgnbd_summary(orders, cutoff).reindex(train.index)
    bgnbd_params = None
    try:
        bgnbd_params = clv.fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
        p_bg = 1 - clv.probability_of_purchase(
            bgnbd_params, train_horizon, summary["frequency"], summary["recency"], summary["T"]
        )
        metrics["bgnbd"] = _evaluate(y[holdout], np.asarray(p_bg)[holdout]) if holdout.any() else {}
    except (ValueError, FloatingPointError, ZeroDivisionError):
        metrics["bgnbd"] = {}

    def auc(name: str) -> float:
        value = metrics.get(name, {}).get("auc", float("nan"))
        return -1.0 if np.isnan(value) else value

    use_logistic = logistic is not None and auc("logistic") >= auc("bgnbd")
    now = features_at(orders, as_of)
    reasons = pd.Series([[] for _ in range(len(now))], index=now.index, dtype=object)
    if logistic is not None:
        # The logistic coefficients explain the score whichever model produced it: per customer,
        # the two features that push churn up the most.
        x_now = ((now[FEATURES] - mean) / std).to_numpy()
        contributions = x_now * logistic.coef_[0]
        top = np.argsort(-contributions, axis=1)[:, :2]
        reasons = pd.Series(
            [
                [
                    (REASONS[FEATURES[j]], _reason_value(now.iloc[i], FEATURES[j]))
                    for j in row
                    if contributions[i, j] > 0
                ]
                for i, row in enumerate(top)
            ],
            index=now.index,
            dtype=object,
        )
    if use_logistic:
        probability = logistic.predict_proba(x_now)[:, 1]
        model = "logistic"
    else:
        full = _bgnbd_summary(orders, as_of).reindex(now.index)
        params = bgnbd_at_as_of or clv.fit_bgnbd(full["frequency"], full["recency"], full["T"])
        probability = 1 - clv.probability_of_purchase(
            params, horizon_days, full["frequency"], full["recency"], full["T"]
        )
        model = "bgnbd"
    return ChurnResult(
        probability=pd.Series(
            np.asarray(probability, dtype=float), index=now.index, name="churn_probability"
        ),
        reasons=reasons,
        model=model,
        metrics=metrics,
    )


def _reason_value(row: pd.Series, feature: str) -> float:
    return float(
        {
            "log_recency": row["recency_days"],
            "log_frequency": row["frequency"],
            "log_avg_value": row["avg_value"],
            "log_tenure": row["tenure_days"],
            "orders_last_90d": row["orders_last_90d"],
        }[feature]
    )
