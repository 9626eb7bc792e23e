"""Customer lifetime value: BG/NBD for purchase counts, Gamma-Gamma for spend.

BG/NBD: Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the
Pareto/NBD model", Marketing Science 24(2). Gamma-Gamma: Fader & Hardie (2013), "The Gamma-Gamma
model of monetary value". Both fitted by maximum likelihood with scipy on log-likelihoods written
with log-gamma functions and log-sum-exp, so they stay finite for customers with hundreds of
purchases. Each customer is summarised by

- frequency x: number of repeat purchases (purchases after the first),
- recency t_x: time of the last purchase, measured from the first,
- T: time between the first purchase and the end of observation,
- monetary: mean value of the repeat purchases,

all in one time unit (days or weeks: the parameters scale with it).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float
    log_likelihood: float


def _unique_with_weights(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the columns and how often each occurs: the fit then costs O(distinct)."""
    stacked = np.column_stack(columns)
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(float)


# Parameters are fitted on the log scale within these bounds (about 6e-6 to 160,000): a flat
# likelihood (too little data) then ends at a bound instead of wandering for minutes.
_LOG_BOUND = 12.0


def _minimize(negative_ll, starts: list[list[float]]) -> optimize.OptimizeResult:
    """Best of bounded quasi-Newton (L-BFGS-B) fits from several starts."""
    best = None
    for start in starts:
        result = optimize.minimize(
            negative_ll,
            np.array(start, dtype=float),
            method="L-BFGS-B",
            bounds=[(-_LOG_BOUND, _LOG_BOUND)] * len(start),
        )
        if best is None or result.fun < best.fun:
            best = result
    return best


def bgnbd_log_likelihood(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (FHL 2005, equation 6, in logs)."""
    x = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    T = np.asarray(T, dtype=float)
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = (
        special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.full_like(x, -np.inf)
    a4[repeat] = (
        np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    )
    return a1 + a2 + np.logaddexp(a3, a4)


def fit_bgnbd(
    frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, *, penalizer: float = 0.0
) -> BgNbdParams:
    """Maximum-likelihood BG/NBD parameters (r, alpha, a, b) and the log-likelihood at them."""
    (x, t_x, big_t), weights = _unique_with_weights(
        np.asarray(frequency, float), np.asarray(recency, float), np.asarray(T, float)
    )
    scale = max(float(np.mean(big_t)), 1e-9)  # fit in a unit where T is about 1: better scaled
    t_x_s, big_t_s = t_x / scale, big_t / scale

    def negative_ll(log_params: np.ndarray) -> float:
        r, alpha, a, b = np.exp(log_params)
        ll = bgnbd_log_likelihood(r, alpha, a, b, x, t_x_s, big_t_s)
        penalty = penalizer * float(np.sum(np.exp(log_params) ** 2))
        return -float(np.dot(weights, ll)) + penalty

    best = _minimize(
        negative_ll, [[0.0, 0.0, 0.0, 0.0], [np.log(0.5), np.log(0.1), np.log(0.5), np.log(2.0)]]
    )
    r, alpha, a, b = np.exp(best.x)
    alpha *= scale  # back to the caller's time unit
    ll = float(np.dot(weights, bgnbd_log_likelihood(r, alpha, a, b, x, t_x, big_t)))
    return BgNbdParams(r=float(r), alpha=float(alpha), a=float(a), b=float(b), log_likelihood=ll)


def probability_alive(params: BgNbdParams, frequency, recency, T) -> np.ndarray:
    """P(the customer has not dropped out by T | x, t_x, T) (FHL 2005, equation 12).

    Note: it is 1 for every customer without a repeat purchase, so it ranks churners badly and
    must not be used as a churn score on its own.
    """
    x, t_x, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    log_ratio = np.zeros_like(x)
    repeat = x > 0
    log_ratio[repeat] = (
        np.log(a)
        - np.log(b + x[repeat] - 1)
        + (r + x[repeat]) * (np.log(alpha + big_t[repeat]) - np.log(alpha + t_x[repeat]))
    )
    return np.where(repeat, 1.0 / (1.0 + np.exp(log_ratio)), 1.0)


def expected_purchases(params: BgNbdParams, t: float, frequency, recency, T) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] (FHL 2005, equation 10)."""
    x, t_x, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + big_t + t))
    first = (a + b + x - 1) / (a - 1)
    second = 1 - np.exp((r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + t))) * hyp
    return first * second * probability_alive(params, x, t_x, big_t)


def probability_of_purchase(params: BgNbdParams, t: float, frequency, recency, T) -> np.ndarray:
    """P(at least one purchase in (T, T + t] | x, t_x, T).

    A customer still alive at T with purchase rate lambda makes none in the next t with
    probability exp(-lambda t); averaging over the posterior Gamma(r + x, alpha + T) of lambda
    gives ((alpha + T) / (alpha + T + t)) ** (r + x). A customer who dropped out makes none.
    """
    x, _t_x, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    none_if_alive = np.exp(
        (params.r + x) * (np.log(params.alpha + big_t) - np.log(params.alpha + big_t + t))
    )
    return probability_alive(params, frequency, recency, T) * (1.0 - none_if_alive)


def gamma_gamma_log_likelihood(
    p: float, q: float, gamma: float, x: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean spend m over x transactions."""
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    return (
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(gamma + x * m)
    )


def fit_gamma_gamma(frequency: np.ndarray, monetary: np.ndarray) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters on customers with x > 0 and positive spend."""
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary, dtype=float)
    keep = (x > 0) & (m > 0)
    (xu, mu), weights = _unique_with_weights(x[keep], m[keep])
    scale = max(float(np.mean(mu)), 1e-9)
    mu_s = mu / scale

    def negative_ll(log_params: np.ndarray) -> float:
        p, q, gamma = np.exp(log_params)
        return -float(np.dot(weights, gamma_gamma_log_likelihood(p, q, gamma, xu, mu_s)))

    best = _minimize(negative_ll, [[0.0, 0.0, 0.0], [np.log(5.0), np.log(3.0), np.log(1.0)]])
    p, q, gamma = np.exp(best.x)
    gamma *= scale
    ll = float(np.dot(weights, gamma_gamma_log_likelihood(p, q, gamma, xu, mu)))
    return GammaGammaParams(p=float(p), q=float(q), gamma=float(gamma), log_likelihood=ll)


def expected_average_spend(params: GammaGammaParams, frequency, monetary) -> np.ndarray:
    """E[M | p, q, gamma, x, mean spend]: the posterior mean spend per transaction; customers
    without repeat purchases get the population mean p * gamma / (q - 1)."""
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary, dtype=float)
    p, q, gamma = params.p, params.q, params.gamma
    population = p * gamma / (q - 1)
    individual = p * (gamma + x * m) / (p * x + q - 1)
    return np.where((x > 0) & (m > 0), individual, population)


def clv(
    bgnbd: BgNbdParams,
    gamma_gamma: GammaGammaParams,
    frame: pd.DataFrame,
    *,
    horizon: float,
    discount_rate: float = 0.0,
    margin: float | np.ndarray = 1.0,
    steps: int = 12,
) -> pd.Series:
    """Discounted expected margin over `horizon` (in the frame's time unit).

    `frame` has columns frequency, recency, T, monetary (indexed by customer). The horizon is cut
    into `steps` periods; each period's expected purchases times expected spend times margin is
    discounted at `discount_rate` per period.
    """
    x, t_x, big_t = (
        frame["frequency"].to_numpy(float),
        frame["recency"].to_numpy(float),
        frame["T"].to_numpy(float),
    )
    spend = expected_average_spend(gamma_gamma, x, frame["monetary"].to_numpy(float))
    step = horizon / steps
    total = np.zeros(len(frame))
    previous = np.zeros(len(frame))
    for i in range(1, steps + 1):
        cumulative = expected_purchases(bgnbd, step * i, x, t_x, big_t)
        total += (cumulative - previous) * spend * margin / (1 + discount_rate) ** i
        previous = cumulative
    return pd.Series(total, index=frame.index, name="clv")
