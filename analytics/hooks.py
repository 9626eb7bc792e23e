"""What the analytics app plugs into the customers app's registries (loaded by apps.py)."""

from typing import Any

from analytics.models import CustomerScore, CustomerScoreSnapshot
from customers.privacy import privacy_eraser, privacy_exporter

EXPORTED_SCORE_FIELDS = [
    "rfm_recency_days",
    "rfm_frequency",
    "rfm_monetary",
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "rfm_segment",
    "cluster",
    "cluster_name",
    "clv",
    "churn_probability",
    "profitability",
    "value_quadrant",
    "scored_at",
]


@privacy_exporter("analytics_scores")
def scores_export(*, customer_ids: list[int]) -> list[dict[str, Any]]:
    """The customers' current scores: profiling results are personal data."""
    scores = CustomerScore.objects.filter(customer_id__in=customer_ids).order_by("customer_id")
    return [
        {
            "customer_id": score.customer_id,
            **{name: getattr(score, name) for name in EXPORTED_SCORE_FIELDS},
            "churn_reasons": score.churn_reasons,
        }
        for score in scores
    ]


@privacy_eraser("analytics_scores")
def scores_erase(*, customer_ids: list[int], by) -> None:
    """Delete the customers' scores and their history (the job no longer scores them)."""
    CustomerScore.objects.filter(customer_id__in=customer_ids).delete()
    CustomerScoreSnapshot.objects.filter(customer_id__in=customer_ids).delete()
