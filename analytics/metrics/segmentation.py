"""K-means segmentation of customers on their RFM behaviour, with stable cluster identities.

Features are log(1 + recency, frequency, monetary), standardized. k is chosen from 3 to 8 by the
silhouette score on a sample; the fit is deterministic for a seed. Each cluster gets a readable
name from its centroid, and clusters are renumbered to match the previous run's centroids (the
Hungarian assignment on centroid distance), so "cluster 2" means the same group tomorrow.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

FEATURES = ["recency", "frequency", "monetary"]


@dataclass
class Segmentation:
    labels: pd.Series  # cluster number per customer
    centroids: pd.DataFrame  # per cluster, in original units (recency days, orders, money)
    names: dict[int, str]
    k: int
    silhouette: float
    scaled_centroids: np.ndarray  # in the standardized feature space, for the next run


def _features(rfm: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    raw = np.log1p(rfm[FEATURES].to_numpy(dtype=float).clip(min=0))
    mean, std = raw.mean(axis=0), raw.std(axis=0)
    std[std == 0] = 1.0
    return (raw - mean) / std, mean, std


def _name(centroid: pd.Series, overall: pd.Series) -> str:
    recent = centroid["recency"] <= overall["recency"]
    frequent = centroid["frequency"] >= overall["frequency"]
    big = centroid["monetary"] >= overall["monetary"]
    if recent and frequent and big:
        return "Top customers: recent, frequent, high spend"
    if recent and frequent:
        return "Regulars: recent and frequent, modest spend"
    if recent and big:
        return "Big-ticket newcomers: recent, few large orders"
    if recent:
        return "New or occasional: recent, few small orders"
    if frequent and big:
        return "Slipping valuables: frequent high spenders gone quiet"
    if frequent:
        return "Fading regulars: used to buy often, now quiet"
    if big:
        return "Dormant big spenders: few large orders long ago"
    return "Inactive: few small orders long ago"


def segment(
    rfm: pd.DataFrame,
    *,
    seed: int = 0,
    k_range: range = range(3, 9),
    sample_size: int = 8_000,
    previous_centroids: np.ndarray | None = None,
) -> Segmentation:
    """Cluster customers; `rfm` is indexed by customer with recency, frequency, monetary."""
    x, _mean, _std = _features(rfm)
    rng = np.random.default_rng(seed)
    n = len(x)
    k_range = range(k_range.start, min(k_range.stop, n))  # need more customers than clusters
    if len(k_range) == 0:
        raise ValueError("Too few customers to segment.")
    sample = x[rng.choice(n, size=min(sample_size, n), replace=False)]
    best_k, best_score, best_model = None, -1.0, None
    for k in k_range:
        model = KMeans(n_clusters=k, n_init=2, random_state=seed).fit(sample)
        labels = model.labels_
        if len(set(labels)) < 2:
            continue
        score = float(
            silhouette_score(sample, labels, sample_size=min(len(sample), 4000), random_state=seed)
        )
        if score > best_score:
            best_k, best_score, best_model = k, score, model
    model = KMeans(
        n_clusters=best_k, n_init=1, init=best_model.cluster_centers_, random_state=seed
    ).fit(x)
    centers = model.cluster_centers_
    order = _stable_order(centers, previous_centroids)
    relabel = np.empty_like(order)
    relabel[order] = np.arange(len(order))
    labels = pd.Series(relabel[model.labels_], index=rfm.index, name="cluster")
    centers = centers[order]
    centroids = rfm[FEATURES].groupby(labels).median()
    overall = rfm[FEATURES].median()
    names = {int(c): _name(centroids.loc[c], overall) for c in centroids.index}
    return Segmentation(labels, centroids, names, int(best_k), best_score, centers)


def _stable_order(centers: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """Positions of today's clusters in the numbering: matched to yesterday's centroids when
    given (new clusters after them), otherwise ordered by monetary then frequency."""
    if previous is None or len(previous) == 0:
        return np.lexsort((-centers[:, 1], -centers[:, 2]))
    cost = np.linalg.norm(centers[:, None, :] - previous[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(cost)
    slot = {int(r): int(c) for r, c in zip(rows, cols, strict=True)}
    unmatched = [i for i in range(len(centers)) if i not in slot]
    next_slot = len(previous)
    for i in sorted(unmatched, key=lambda i: -centers[i, 2]):
        slot[i] = next_slot
        next_slot += 1
    # order[position] = index of today's cluster occupying it
    positions = sorted(slot, key=lambda i: slot[i])
    return np.array(positions)
