"""Score every customer from the per-customer order summary: the nightly job's computation.

Pure (numpy, pandas, scikit-learn; no Django), so it is benchmarked on its own
(bench/analytics.py times it apart from reading and writing). analytics/pipeline.py reads the
summary, calls `score_customers`, and writes the scores back.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.metrics import churn, clv, profitability, rfm, segmentation

CLV_HORIZON_DAYS = 365
CHURN_HORIZON_DAYS = 90
ANNUAL_DISCOUNT_RATE = 0.10
DEFAULT_MARGIN_RATE = 0.3  # when no order has a known cost


@dataclass
class Scored:
    scores: pd.DataFrame  # per customer: recency ... quadrant (rfm), cluster, clv, churn, ...
    churn: churn.ChurnResult | None
    metrics: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)  # per stage


def score_customers(
    customers: pd.DataFrame,
    as_of: pd.Timestamp,
    *,
    seed: int = 0,
    previous_centroids: np.ndarray | None = None,
    stage: Callable | None = None,
) -> Scored:
    """Scores for every customer of the summary (summary.COLUMNS, with cutoff columns at
    churn.training_window(first order, as_of, CHURN_HORIZON_DAYS)).

    `stage(name, function)` runs each step (the pipeline reports progress through it); by
    default the steps are only timed.
    """
    seconds: dict[str, float] = {}

    def timed(name: str, function: Callable):
        started = time.perf_counter()
        value = stage(name, function) if stage else function()
        seconds[name] = round(time.perf_counter() - started, 3)
        return value

    metrics: dict = {"customers_scored": len(customers)}
    if customers.empty:
        return Scored(scores=pd.DataFrame(), churn=None, metrics=metrics, seconds=seconds)

    scores = timed("rfm", lambda: rfm.score_summary(customers, as_of))

    def run_segmentation():
        if len(scores) < 10:
            return None
        features = scores[["recency", "frequency", "monetary"]]
        return segmentation.segment(features, seed=seed, previous_centroids=previous_centroids)

    seg = timed("segmentation", run_segmentation)
    if seg is not None:
        scores["cluster"] = seg.labels
        scores["cluster_name"] = scores["cluster"].map(seg.names)
        metrics.update(
            k=seg.k,
            silhouette=round(seg.silhouette, 4),
            cluster_names={str(k): v for k, v in seg.names.items()},
            centroids=seg.scaled_centroids.round(6).tolist(),
        )
    else:
        scores["cluster"] = None
        scores["cluster_name"] = ""

    org_margin, margin_rate = _margins(customers)
    fitted: dict = {}

    def run_clv():
        inputs = churn.bgnbd_inputs(customers, as_of)
        repeat_revenue = customers["revenue"] - customers["first_day_revenue"]
        inputs["monetary"] = np.where(
            inputs["frequency"] > 0, repeat_revenue / inputs["frequency"].clip(lower=1), 0.0
        )
        bg = clv.fit_bgnbd(inputs["frequency"], inputs["recency"], inputs["T"])
        fitted["bgnbd"] = bg
        gg = clv.fit_gamma_gamma(inputs["frequency"], inputs["monetary"])
        values = clv.clv(
            bg,
            gg,
            inputs,
            horizon=CLV_HORIZON_DAYS,
            discount_rate=(1 + ANNUAL_DISCOUNT_RATE) ** (1 / 12) - 1,
            margin=margin_rate,
        )
        metrics["bgnbd"] = {
            "r": bg.r,
            "alpha": bg.alpha,
            "a": bg.a,
            "b": bg.b,
            "log_likelihood": bg.log_likelihood,
        }
        metrics["gamma_gamma"] = {
            "p": gg.p,
            "q": gg.q,
            "gamma": gg.gamma,
            "log_likelihood": gg.log_likelihood,
        }
        return values

    try:
        scores["clv"] = timed("clv", run_clv)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as error:
        metrics["clv_error"] = str(error)[:300]
        scores["clv"] = np.nan

    def run_churn():
        result = churn.predict_summary(
            customers,
            as_of,
            CHURN_HORIZON_DAYS,
            seed=seed,
            bgnbd_at_as_of=fitted.get("bgnbd"),
        )
        metrics["churn"] = {"model": result.model, **result.metrics}
        return result

    churn_result = timed("churn", run_churn)
    scores["churn_probability"] = churn_result.probability

    def run_profitability():
        result = profitability.profitability_from_summary(
            customers, future_margin=scores["clv"].fillna(0.0), default_margin_rate=org_margin
        )
        metrics["pareto_top20_share"] = round(
            profitability.pareto_share(result["profitability"]), 4
        )
        return result["profitability"]

    scores["profitability"] = timed("profitability", run_profitability)
    return Scored(scores=scores, churn=churn_result, metrics=metrics, seconds=seconds)


def _margins(customers: pd.DataFrame) -> tuple[float, np.ndarray]:
    """The organization's margin rate (over the orders whose cost is known) and each customer's,
    with the organization's standing in for the orders without a known cost."""
    costed = float(customers["costed_revenue"].sum())
    org_margin = (
        1 - float(customers["known_cost"].sum()) / costed if costed > 0 else DEFAULT_MARGIN_RATE
    )
    revenue = customers["revenue"].to_numpy(dtype=float)
    uncosted = revenue - customers["costed_revenue"].to_numpy(dtype=float)
    cost = customers["known_cost"].to_numpy(dtype=float) + uncosted * (1 - org_margin)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(revenue > 0, 1 - cost / revenue, org_margin)
    return org_margin, np.clip(rate, 0, 1)
