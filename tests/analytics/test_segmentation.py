import numpy as np
import pandas as pd

from analytics.metrics import segmentation


def _customers(seed: int = 1, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    groups = [
        (rng.normal(10, 3, n // 3), rng.normal(20, 3, n // 3), rng.normal(3000, 300, n // 3)),
        (rng.normal(300, 30, n // 3), rng.normal(1.5, 0.3, n // 3), rng.normal(40, 8, n // 3)),
        (rng.normal(60, 10, n // 3), rng.normal(6, 1, n // 3), rng.normal(400, 60, n // 3)),
    ]
    r, f, m = (np.concatenate(parts).clip(min=0.5) for parts in zip(*groups, strict=True))
    return pd.DataFrame({"recency": r, "frequency": f, "monetary": m}, index=range(1, n + 1))


def test_it_finds_the_three_planted_groups():
    result = segmentation.segment(_customers(), seed=7)
    assert result.k == 3
    assert result.silhouette > 0.5
    # each planted group lands in one cluster
    labels = result.labels
    assert labels.iloc[:200].nunique() == 1 and labels.iloc[200:400].nunique() == 1


def test_it_is_deterministic_for_a_seed():
    a = segmentation.segment(_customers(), seed=3)
    b = segmentation.segment(_customers(), seed=3)
    assert a.labels.equals(b.labels)


def test_cluster_numbers_are_stable_between_runs():
    first = segmentation.segment(_customers(seed=1), seed=1)
    # tomorrow: the same population, slightly changed, and a different random start
    second = segmentation.segment(
        _customers(seed=2), seed=99, previous_centroids=first.scaled_centroids
    )
    top_first = first.labels.iloc[:200].mode()[0]
    top_second = second.labels.iloc[:200].mode()[0]
    assert top_first == top_second
    assert first.names[top_first] == second.names[top_second]


def test_names_read_from_the_centroids():
    result = segmentation.segment(_customers(), seed=7)
    top = result.labels.iloc[:200].mode()[0]
    assert result.names[top].startswith("Top customers")
