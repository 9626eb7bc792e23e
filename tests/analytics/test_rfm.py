import pandas as pd
import pytest

from analytics.metrics import prepare, rfm

AS_OF = pd.Timestamp("2026-06-30", tz="UTC")


def _orders(rows):
    return pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount", "status", "is_gift"])


@pytest.mark.parametrize(
    ("r", "f", "segment"),
    [
        (5, 5, "champions"),
        (5, 4, "champions"),
        (5, 1, "new"),
        (4, 1, "promising"),
        (5, 2, "potential_loyalists"),
        (4, 3, "potential_loyalists"),
        (4, 5, "loyal"),
        (3, 4, "loyal"),
        (3, 3, "need_attention"),
        (3, 1, "about_to_sleep"),
        (2, 3, "at_risk"),
        (1, 4, "at_risk"),
        (2, 5, "cant_lose"),
        (1, 5, "cant_lose"),
        (2, 1, "hibernating"),
        (1, 2, "hibernating"),
        (1, 1, "lost"),
    ],
)
def test_the_grid_names_every_cell(r, f, segment):
    assert rfm.segment_for(r, f) == segment


def test_every_cell_of_the_grid_has_one_of_the_eleven_segments():
    names = {rfm.segment_for(r, f) for r in range(1, 6) for f in range(1, 6)}
    assert len(names) == 11


def test_quintiles_hold_a_fifth_each_even_with_ties():
    scores = rfm.quintile_scores(pd.Series([1] * 80 + [2] * 15 + [9] * 5))
    assert scores.value_counts().sort_index().tolist() == [20, 20, 20, 20, 20]


def test_recency_scores_favour_recent_buyers():
    scores = rfm.quintile_scores(pd.Series([1, 10, 100, 1000, 5]), higher_is_better=False)
    assert scores.tolist() == [5, 3, 2, 1, 4]


def test_preparation_drops_what_must_not_count():
    orders = _orders(
        [
            (1, "2026-01-10", 100, "completed", False),
            (1, "2026-02-10", 0, "completed", False),  # zero value: a gift
            (1, "2026-03-10", 50, "completed", True),  # flagged gift
            (2, "2026-03-10", 80, "cancelled", False),
            (2, "2026-04-10", 80, "returned", False),
            (2, "2026-04-11", -5, "completed", False),
            (3, "2027-01-01", 40, "completed", False),  # after as_of
            (None, "2026-01-01", 40, "completed", False),
            (3, "2026-05-01", 40, "completed", False),
        ]
    )
    prepared = prepare.prepare_orders(orders, as_of=AS_OF)
    assert prepared.dropped == {
        "missing_values": 1,
        "cancelled_or_returned": 2,
        "gifts": 2,
        "negative_amounts": 1,
        "future_dates": 1,
    }
    assert sorted(prepared.orders["customer_id"].tolist()) == [1, 3]


def test_scores_per_customer():
    orders = _orders(
        [
            (c, f"2026-{m:02d}-01", 10 * c, "completed", False)
            for c in range(1, 11)
            for m in range(1, c // 2 + 2)
        ]
    )
    result = rfm.score(prepare.prepare_orders(orders, as_of=AS_OF).orders, AS_OF)
    assert len(result) == 10
    assert result.loc[10, "frequency"] == 6
    assert result.loc[10, "monetary"] == 600
    assert result.loc[10, "f"] == 5 and result.loc[1, "f"] == 1
    assert set(result["quadrant"]) <= {"best", "spenders", "frequent", "uncertain"}
    assert result.loc[10, "quadrant"] == "best"
    assert result.loc[1, "quadrant"] == "uncertain"
