"""BG/NBD and Gamma-Gamma reproduce the published CDNOW estimates to three significant figures."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.metrics import clv

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")


@pytest.fixture(scope="module")
def bgnbd(cdnow) -> clv.BgNbdParams:
    return clv.fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])


def _sig3(value: float) -> float:
    return float(f"{value:.3g}")


def test_bgnbd_reproduces_fader_hardie_lee_2005(bgnbd):
    assert _sig3(bgnbd.r) == 0.243
    assert _sig3(bgnbd.alpha) == 4.41
    assert _sig3(bgnbd.a) == 0.793
    assert _sig3(bgnbd.b) == 2.43
    assert round(bgnbd.log_likelihood, 1) == -9582.4


def test_gamma_gamma_reproduces_fader_hardie_2013(cdnow):
    params = clv.fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    assert _sig3(params.p) == 6.25
    assert _sig3(params.q) == 3.74
    assert _sig3(params.gamma) == 15.4
    assert round(params.log_likelihood, 1) == -4055.9


def test_conditional_expectation_matches_the_paper(bgnbd):
    expected = clv.expected_purchases(
        bgnbd, 39, np.array([2]), np.array([30.43]), np.array([38.86])
    )
    assert round(float(expected[0]), 3) == 1.226


def test_probability_alive_is_one_without_repeat_purchases(bgnbd):
    alive = clv.probability_alive(
        bgnbd, np.array([0, 3]), np.array([0.0, 5.0]), np.array([38.0, 38.0])
    )
    assert alive[0] == 1.0
    assert alive[1] < 0.5  # three purchases early on, then silence for 33 weeks


def test_probability_of_purchase_is_below_probability_alive(bgnbd):
    x, t_x, T = np.array([0, 2, 10]), np.array([0.0, 30.0, 38.0]), np.array([38.0, 38.0, 38.0])
    purchase = clv.probability_of_purchase(bgnbd, 39, x, t_x, T)
    assert np.all(purchase < clv.probability_alive(bgnbd, x, t_x, T))
    assert purchase[2] > purchase[1] > purchase[0]


def test_fit_is_the_same_on_deduplicated_triples(cdnow, bgnbd):
    doubled = pd.concat([cdnow, cdnow])
    params = clv.fit_bgnbd(doubled["x"], doubled["t_x"], doubled["T"])
    assert params.r == pytest.approx(bgnbd.r, rel=1e-4)
    assert params.log_likelihood == pytest.approx(2 * bgnbd.log_likelihood, rel=1e-6)


def test_clv_grows_with_frequency_and_spend(cdnow, bgnbd):
    gg = clv.fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    frame = pd.DataFrame(
        {
            "frequency": [1, 5, 5],
            "recency": [30.0, 35.0, 35.0],
            "T": [38.0, 38.0, 38.0],
            "monetary": [20.0, 20.0, 60.0],
        }
    )
    values = clv.clv(bgnbd, gg, frame, horizon=52, discount_rate=0.01, margin=0.3)
    assert values.iloc[0] < values.iloc[1] < values.iloc[2]
    assert (values > 0).all()


def test_the_analytic_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    x = rng.poisson(2, 500).astype(float)
    big_t = rng.uniform(1, 50, 500)
    t_x = np.where(x > 0, rng.uniform(0, 1, 500) * big_t, 0.0)
    likelihood = clv._BgNbdLikelihood(x, t_x, big_t, np.ones(500))
    params = np.array([0.5, 3.0, 0.8, 2.5])
    value, gradient = likelihood(*params)
    assert value == pytest.approx(clv.bgnbd_log_likelihood(*params, x, t_x, big_t).sum())
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6
        numeric = (likelihood(*(params + step))[0] - likelihood(*(params - step))[0]) / 2e-6
        assert gradient[i] == pytest.approx(numeric, rel=1e-5)


def test_clv_on_distinct_customers_equals_the_sum_customer_by_customer(cdnow, bgnbd):
    gg = clv.fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    frame = pd.DataFrame(
        {
            "frequency": cdnow["x"].astype(float),
            "recency": cdnow["t_x"],
            "T": cdnow["T"],
            "monetary": cdnow["zbar"],
        }
    )
    values = clv.clv(bgnbd, gg, frame, horizon=52, discount_rate=0.01, margin=0.3, steps=4)
    spend = clv.expected_average_spend(gg, frame["frequency"], frame["monetary"])
    expected = np.zeros(len(frame))
    previous = np.zeros(len(frame))
    for i in range(1, 5):
        cumulative = clv.expected_purchases(
            bgnbd, 13 * i, frame["frequency"], frame["recency"], frame["T"]
        )
        expected += (cumulative - previous) * spend * 0.3 / 1.01**i
        previous = cumulative
    np.testing.assert_allclose(values.to_numpy(), expected, rtol=1e-10)
