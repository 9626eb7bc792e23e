import numpy as np
import pandas as pd

from analytics.metrics import churn

AS_OF = pd.Timestamp("2026-06-30", tz="UTC")


def _simulated_orders(seed: int = 0, customers: int = 1500, days: int = 720) -> pd.DataFrame:
    """A BG/NBD-like world: each customer buys at its own rate until it drops out."""
    rng = np.random.default_rng(seed)
    start = AS_OF - pd.Timedelta(days=days)
    rows = []
    for customer in range(customers):
        rate = rng.gamma(0.8, 1 / 25)  # purchases per day
        dropout = rng.beta(1, 6)
        t = rng.uniform(0, days * 0.8)
        while t < days:
            rows.append((customer, start + pd.Timedelta(days=float(t)), float(rng.gamma(2, 30))))
            if rng.random() < dropout:
                break
            t += rng.exponential(1 / rate)
    return pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"])


def test_it_scores_every_customer_with_a_probability():
    orders = _simulated_orders()
    result = churn.predict(orders, AS_OF, horizon_days=90)
    assert result.probability.index.equals(result.reasons.index)
    assert result.probability.between(0, 1).all()
    assert set(result.probability.index) == set(orders["customer_id"])


def test_it_evaluates_both_models_on_a_time_split_and_keeps_the_better():
    result = churn.predict(_simulated_orders(), AS_OF, horizon_days=90)
    aucs = {name: result.metrics[name]["auc"] for name in ("logistic", "bgnbd")}
    assert all(auc > 0.7 for auc in aucs.values()), aucs
    assert result.model == max(aucs, key=aucs.get)
    for name in ("logistic", "bgnbd"):
        assert 0 <= result.metrics[name]["brier"] < 0.25
        table = result.metrics[name]["reliability"]
        assert sum(row["customers"] for row in table) > 0


def test_it_uses_no_information_after_as_of():
    orders = _simulated_orders()
    later = orders.copy()
    later["ordered_at"] = later["ordered_at"] + pd.Timedelta(days=400)  # all after as_of...
    future = pd.concat([orders, later[later["ordered_at"] > AS_OF]])
    a = churn.predict(orders, AS_OF, horizon_days=90, seed=1)
    b = churn.predict(future, AS_OF, horizon_days=90, seed=1)
    pd.testing.assert_series_equal(a.probability, b.probability)


def test_recent_frequent_buyers_churn_less_than_long_silent_ones():
    orders = _simulated_orders()
    result = churn.predict(orders, AS_OF, horizon_days=90)
    features = churn.features_at(orders, AS_OF)
    active = features[(features["recency_days"] < 20) & (features["frequency"] >= 5)].index
    silent = features[(features["recency_days"] > 300)].index
    assert result.probability[active].mean() < result.probability[silent].mean()


def test_a_young_business_shrinks_the_training_window():
    orders = _simulated_orders(days=120, customers=800)
    result = churn.predict(orders, AS_OF, horizon_days=90)
    assert result.metrics["train_horizon_days"] < 90
    assert result.probability.notna().all()


def test_reasons_name_what_pushes_the_score_up():
    orders = _simulated_orders()
    result = churn.predict(orders, AS_OF, horizon_days=90)
    codes = {code for reasons in result.reasons for code, _value in reasons}
    assert codes <= set(churn.REASONS.values())
    features = churn.features_at(orders, AS_OF)
    silent = features["recency_days"].idxmax()
    assert ("long_since_last_order", float(features.loc[silent, "recency_days"])) in result.reasons[
        silent
    ]
