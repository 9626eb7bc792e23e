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


def _distinct(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Distinct rows of the columns, how often each occurs, and each input row's distinct row.

    The fits and predictions then cost O(distinct rows): a million customers share far fewer
    (x, t_x, T) triples. Each column is numbered by hashing (pd.factorize) and the numbers are
    combined into one integer key, which is much faster than np.unique(axis=0) on floats.
    """
    codes, uniques = zip(*(pd.factorize(np.asarray(c, dtype=float)) for c in columns), strict=True)
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for code, values in zip(codes, uniques, strict=True):
        key = key * len(values) + code  # mixed radix; at most n ** 3 < 2 ** 63 for n < 2 ** 21
    distinct, inverse, counts = _unique_int(key)
    rows = []
    for values in reversed(uniques):
        rows.append(values[distinct % len(values)])
        distinct = distinct // len(values)
    return rows[::-1], counts.astype(float), inverse


def _unique_int(key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """np.unique(key, return_inverse=True, return_counts=True) by one argsort (np.unique is
    pathologically slow on millions of int64 in numpy 2.5)."""
    if len(key) == 0:
        return key, key.copy(), key.copy()
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    group = np.cumsum(starts) - 1
    inverse = np.empty(len(key), dtype=np.int64)
    inverse[order] = group
    first = np.flatnonzero(starts)
    counts = np.diff(np.r_[first, len(key)])
    return ordered[first], inverse, counts


def _unique_with_weights(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the columns and how often each occurs."""
    rows, counts, _inverse = _distinct(*columns)
    return rows, counts


# Parameters are fitted on the log scale within these bounds (about 6e-6 to 160,000): a flat
# likelihood (too little data) then ends at a bound instead of wandering for minutes.
_LOG_BOUND = 12.0


def _minimize(negative_ll, starts: list[list[float]], size: float) -> optimize.OptimizeResult:
    """Bounded quasi-Newton (L-BFGS-B) fit from the first start; the next starts are tried
    only when it fails or ends on a bound, and the best result is kept. `negative_ll` returns
    the value and its analytic gradient (finite differences would cost 5 evaluations a step);
    it is minimized per customer (divided by `size`), so that the stopping tolerances mean the
    same for a thousand customers and for a million."""

    def per_customer(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = negative_ll(log_params)
        return value / size, gradient / size

    best = None
    for start in starts:
        result = optimize.minimize(
            per_customer,
            np.array(start, dtype=float),
            jac=True,
            method="L-BFGS-B",
            bounds=[(-_LOG_BOUND, _LOG_BOUND)] * len(start),
            options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 500},
        )
        if best is None or result.fun < best.fun:
            best = result
        if best.success and np.all(np.abs(best.x) < _LOG_BOUND - 1e-6):
            break
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


class _BgNbdLikelihood:
    """The weighted BG/NBD log-likelihood and its gradient over distinct (x, t_x, T) rows.

    The terms of x alone (the log-gamma functions) are evaluated once per distinct x and
    weighted by how many customers share it; only log(alpha + T), log(alpha + t_x) and the
    log-sum-exp need every row.
    """

    def __init__(self, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, weights: np.ndarray):
        self.x, self.weights = x, weights
        x_codes, self.x_values = pd.factorize(x)
        self.x_weights = np.bincount(x_codes, weights=weights)
        self.x_codes = x_codes
        self.total = float(weights.sum())
        self.repeat = x > 0
        self.t_x_codes, self.t_x_values = pd.factorize(t_x)
        self.t_codes, self.t_values = pd.factorize(big_t)
        self.repeat_values = self.x_values > 0

    def __call__(self, r: float, alpha: float, a: float, b: float) -> tuple[float, np.ndarray]:
        """(log-likelihood, its gradient in (r, alpha, a, b))."""
        xv, wx, w = self.x_values, self.x_weights, self.weights
        per_x = special.gammaln(r + xv) + special.gammaln(b + xv) - special.gammaln(a + b + xv)
        ll_x = float(np.dot(wx, per_x)) + self.total * (
            r * np.log(alpha) - special.gammaln(r) + special.gammaln(a + b) - special.gammaln(b)
        )
        log_b_x = np.zeros_like(xv)
        log_b_x[self.repeat_values] = np.log(b + xv[self.repeat_values] - 1)
        rx = r + self.x
        log_at = np.log(alpha + self.t_values)[self.t_codes]
        log_atx = np.log(alpha + self.t_x_values)[self.t_x_codes]
        a3 = -rx * log_at
        a4 = np.where(self.repeat, np.log(a) - log_b_x[self.x_codes] - rx * log_atx, -np.inf)
        top = np.maximum(a3, a4)
        e3, e4 = np.exp(a3 - top), np.exp(a4 - top)
        total = e3 + e4
        ll = ll_x + float(np.dot(w, top + np.log(total)))
        w3, w4 = w * (e3 / total), w * (e4 / total)  # each row's weight times its softmax share

        digamma_ab = special.digamma(a + b)
        d_r = (
            float(np.dot(wx, special.digamma(r + xv)))
            + self.total * (np.log(alpha) - special.digamma(r))
            - float(np.dot(w3, log_at) + np.dot(w4, log_atx))
        )
        d_alpha = self.total * r / alpha - float(
            np.dot(w3 * rx, 1 / (alpha + self.t_values)[self.t_codes])
            + np.dot(w4 * rx, 1 / (alpha + self.t_x_values)[self.t_x_codes])
        )
        d_abx = float(np.dot(wx, special.digamma(a + b + xv)))
        d_a = self.total * digamma_ab - d_abx + float(w4.sum()) / a
        inverse_b_x = np.zeros_like(xv)
        inverse_b_x[self.repeat_values] = 1 / (b + xv[self.repeat_values] - 1)
        d_b = (
            self.total * (digamma_ab - special.digamma(b))
            + float(np.dot(wx, special.digamma(b + xv)))
            - d_abx
            - float(np.dot(w4, inverse_b_x[self.x_codes]))
        )
        return ll, np.array([d_r, d_alpha, d_a, d_b])


def fit_bgnbd(
    frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, *, penalizer: float = 0.0
) -> BgNbdParams:
    """Maximum-likelihood BG/NBD parameters (r, alpha, a, b) and the log-likelihood at them."""
    (x, t_x, big_t), weights = _unique_with_weights(
        np.asarray(frequency, float), np.asarray(recency, float), np.asarray(T, float)
    )
    scale = max(float(np.mean(big_t)), 1e-9)  # fit in a unit where T is about 1: better scaled
    likelihood = _BgNbdLikelihood(x, t_x / scale, big_t / scale, weights)

    def negative_ll(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        ll, gradient = likelihood(*params)
        penalty = penalizer * float(np.sum(params**2))
        # d/d log(theta) = theta * d/d theta
        return -ll + penalty, params * (-gradient + 2 * penalizer * params)

    best = _minimize(
        negative_ll,
        [[0.0, 0.0, 0.0, 0.0], [np.log(0.5), np.log(0.1), np.log(0.5), np.log(2.0)]],
        size=max(float(weights.sum()), 1.0),
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
    first = (params.a + params.b + x - 1) / (params.a - 1)
    return first * _second_factor(params, t, x, big_t) * probability_alive(params, x, t_x, big_t)


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
    # Terms that do not depend on the parameters, or only linearly on p, are summed once.
    x_codes, x_values = pd.factorize(xu)
    x_weights = np.bincount(x_codes, weights=weights)
    total = float(weights.sum())
    log_m = np.log(mu_s)
    linear_p = float(np.dot(weights, xu * log_m + xu * np.log(xu)))
    constant = -float(np.dot(weights, log_m))

    def negative_ll(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, gamma = np.exp(log_params)
        px = p * x_values
        log_spend = np.log(gamma + xu * mu_s)
        ll = (
            float(np.dot(x_weights, special.gammaln(px + q) - special.gammaln(px)))
            + total * (q * np.log(gamma) - special.gammaln(q))
            + p * linear_p
            + constant
            - float(np.dot(weights * (p * xu + q), log_spend))
        )
        digamma_pxq = special.digamma(px + q)
        d_p = (
            float(np.dot(x_weights * x_values, digamma_pxq - special.digamma(px)))
            + linear_p
            - float(np.dot(weights * xu, log_spend))
        )
        d_q = (
            float(np.dot(x_weights, digamma_pxq))
            + total * (np.log(gamma) - special.digamma(q))
            - float(np.dot(weights, log_spend))
        )
        d_gamma = total * q / gamma - float(np.dot(weights * (p * xu + q), 1 / (gamma + xu * mu_s)))
        return -ll, -np.array([p * d_p, q * d_q, gamma * d_gamma])

    best = _minimize(
        negative_ll,
        [[0.0, 0.0, 0.0], [np.log(5.0), np.log(3.0), np.log(1.0)]],
        size=max(total, 1.0),
    )
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
    # E[purchases in (T, T + t]] = first(x) * second(x, T, t) * P(alive | x, t_x, T): the
    # hypergeometric part, the costly one, depends on (x, T) only, so it is evaluated once per
    # distinct pair, and P(alive) once per distinct triple.
    (xu, tu), _counts, pair = _distinct(x, big_t)
    a, b = bgnbd.a, bgnbd.b
    step = horizon / steps
    discounted = np.zeros(len(xu))
    previous = np.zeros(len(xu))
    for i in range(1, steps + 1):
        second = _second_factor(bgnbd, step * i, xu, tu)
        discounted += (second - previous) / (1 + discount_rate) ** i
        previous = second
    (xa, txa, ta), _counts, triple = _distinct(x, t_x, big_t)
    alive = probability_alive(bgnbd, xa, txa, ta)[triple]
    first = (a + b + x - 1) / (a - 1)
    purchases = first * discounted[pair] * alive
    return pd.Series(purchases * spend * margin, index=frame.index, name="clv")


def _second_factor(params: BgNbdParams, t: float, x: np.ndarray, big_t: np.ndarray) -> np.ndarray:
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + big_t + t))
    return 1 - np.exp((r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + t))) * hyp
