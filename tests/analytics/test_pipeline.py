"""The nightly job: scores land on customers, a rerun replaces them, other tenants are untouched."""

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from analytics import pipeline
from analytics.metrics import churn, prepare, summary
from analytics.models import AnalyticsRun, CustomerScore, CustomerScoreSnapshot, RunStatus
from analytics.pipeline import analytics_run, churn_band
from customers.models import Customer
from sales.models import Order
from tenancy.context import tenant_context
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)


def _history(org, customers: int = 60, seed: int = 0) -> list[Customer]:
    rng = np.random.default_rng(seed)
    created = [CustomerFactory(organization=org) for _ in range(customers)]
    end = timezone.make_aware(timezone.datetime(2026, 6, 30, 12))
    orders = []
    with tenant_context(org):
        for i, customer in enumerate(created):
            count = 1 + int(rng.poisson(3 if i % 3 else 8))
            last_day = int(rng.integers(0, 500))
            for n in range(count):
                day = last_day + n * int(rng.integers(5, 40))
                orders.append(
                    Order(
                        organization=org,
                        customer=customer,
                        number=f"{org.slug}-{i}-{n}",
                        ordered_at=end - timedelta(days=day),
                        total=Decimal(str(round(float(rng.gamma(2, 40)), 2))),
                        cost_total=Decimal("20.00"),
                    )
                )
        orders.append(
            Order(
                organization=org,
                customer=created[0],
                number=f"{org.slug}-c",
                ordered_at=end,
                total=Decimal("99"),
                status="cancelled",
            )
        )
        Order.objects.bulk_create(orders)
    return created


def test_it_writes_scores_and_a_snapshot(org_a):
    _history(org_a)
    run = analytics_run(org=org_a, as_of=AS_OF)
    assert run.status == RunStatus.SUCCEEDED
    with tenant_context(org_a):
        assert CustomerScore.objects.count() == 60
        score = CustomerScore.objects.select_related("customer").first()
        assert score.customer.organization_id == org_a.pk
        assert score.rfm_segment and score.rfm_r in range(1, 6)
        assert score.churn_probability is not None and 0 <= score.churn_probability <= 1
        assert score.clv is not None and score.cluster is not None and score.value_quadrant
        assert score.cluster_name == run.metrics["cluster_names"][str(score.cluster)]
        assert CustomerScoreSnapshot.objects.filter(run=run).count() == 60
    assert run.dropped["cancelled_or_returned"] == 1
    with tenant_context(org_a):
        assert run.rows_read == Order.objects.count()  # every order, the dropped ones too
    assert {"read", "summary", "rfm", "segmentation", "clv", "churn", "write"} <= set(
        run.stage_seconds
    )
    assert run.metrics["bgnbd"]["log_likelihood"] < 0
    assert "auc" in run.metrics["churn"]["logistic"]
    assert run.metrics["write"] == {"scored": 60, "changed": 0, "added": 60, "removed": 0}


def test_the_scores_explain_the_churn_risk(org_a):
    _history(org_a)
    analytics_run(org=org_a, as_of=AS_OF)
    with tenant_context(org_a):
        reasons = [r for score in CustomerScore.objects.all() for r in score.churn_reasons]
    assert reasons
    assert {reason["code"] for reason in reasons} <= set(churn.REASONS.values())
    assert all(isinstance(reason["value"], float) for reason in reasons)


def test_a_rerun_replaces_instead_of_duplicating(org_a):
    _history(org_a)
    first = analytics_run(org=org_a, as_of=AS_OF)
    with tenant_context(org_a):
        before = dict(CustomerScore.objects.values_list("customer_id", "rfm_segment"))
    second = analytics_run(org=org_a, as_of=AS_OF)
    with tenant_context(org_a):
        assert AnalyticsRun.objects.count() == 1
        assert second.pk == first.pk and second.attempts == 2
        assert CustomerScoreSnapshot.objects.count() == 60
        assert dict(CustomerScore.objects.values_list("customer_id", "rfm_segment")) == before


def test_it_never_touches_another_organization(org_a, org_b):
    _history(org_a)
    others = _history(org_b, customers=15, seed=3)
    analytics_run(org=org_a, as_of=AS_OF)
    with tenant_context(org_b):
        assert not CustomerScore.unscoped.filter(customer__in=others).exists()
        assert AnalyticsRun.objects.count() == 0
    assert not CustomerScore.unscoped.filter(customer__in=others).exists()


def test_customers_whose_orders_disappear_lose_their_scores(org_a):
    customers = _history(org_a)
    analytics_run(org=org_a, as_of=AS_OF)
    with tenant_context(org_a):
        Order.objects.filter(customer=customers[5]).update(status="cancelled")
    analytics_run(org=org_a, as_of=AS_OF)
    with tenant_context(org_a):
        assert not CustomerScore.objects.filter(customer=customers[5]).exists()
        assert CustomerScore.objects.count() == 59


def test_an_organization_without_orders_succeeds_with_nothing_scored(org_a):
    CustomerFactory(organization=org_a)
    run = analytics_run(org=org_a, as_of=AS_OF)
    assert run.status == RunStatus.SUCCEEDED
    assert run.metrics["customers_scored"] == 0


def test_the_database_read_gives_the_summary_of_the_orders(org_a):
    """On PostgreSQL the orders come by binary COPY with the dropped rows counted in SQL: the
    summary must be the one the pure functions compute from the same orders."""
    customers = _history(org_a)
    with tenant_context(org_a):
        Customer.objects.filter(pk=customers[1].pk).update(merged_into=customers[0])
        Order.objects.filter(customer=customers[2]).update(is_gift=True)
        Order.objects.filter(customer=customers[3]).update(total=Decimal("0"))
        rows = list(
            Order.objects.exclude(customer=customers[1]).values_list(
                "customer_id", "ordered_at", "total", "cost_total", "status", "is_gift"
            )
        )
        loaded = pipeline.load_orders(org_a, pipeline.as_of_timestamp(AS_OF))
        actual = pipeline.summarize_orders(loaded, AS_OF)
    frame = pd.DataFrame(
        rows, columns=["customer_id", "ordered_at", "amount", "cost", "status", "is_gift"]
    )
    frame[["amount", "cost"]] = frame[["amount", "cost"]].astype(float)
    prepared = prepare.prepare_orders(frame, as_of=pipeline.as_of_timestamp(AS_OF))
    first = prepared.orders["ordered_at"].min()
    _horizon, cutoff = churn.training_window(first, pipeline.as_of_timestamp(AS_OF), 90)
    expected = summary.customer_summary(
        prepared.orders, as_of=pipeline.as_of_timestamp(AS_OF), cutoff=cutoff
    )
    assert loaded.rows_read == len(frame)
    assert loaded.dropped == prepared.dropped
    assert prepared.dropped["gifts"] > 0 and prepared.dropped["cancelled_or_returned"] == 1
    assert customers[1].pk not in actual.index and customers[2].pk not in actual.index
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False)


def test_scores_carry_the_churn_band_and_the_customers_creation_time(org_a):
    customers = {c.pk: c for c in _history(org_a)}
    analytics_run(org=org_a, as_of=AS_OF)
    with tenant_context(org_a):
        for score in CustomerScore.objects.all():
            assert score.churn_band == churn_band(score.churn_probability)
            assert score.customer_created_at == customers[score.customer_id].created_at


def test_erasing_a_customer_erases_its_scores(org_a, alice):
    from customers.privacy import customer_erase

    customers = _history(org_a)
    run = analytics_run(org=org_a, as_of=AS_OF)
    with tenant_context(org_a):
        customer_erase(customer=customers[0], by=alice)
        assert not CustomerScore.objects.filter(customer=customers[0]).exists()
        assert not CustomerScoreSnapshot.objects.filter(customer_id=customers[0].pk).exists()
        assert CustomerScoreSnapshot.objects.filter(run=run).count() == 59


def test_scores_carry_their_coarse_sort_keys(org_a):
    """Written by SQL on PostgreSQL and by Python on SQLite: the same steps either way."""
    from analytics.models import churn_sort_key, clv_sort_key

    _history(org_a)
    analytics_run(org=org_a, as_of=AS_OF)
    with tenant_context(org_a):
        rows = list(
            CustomerScore.objects.values_list("clv", "clv_key", "churn_probability", "churn_key")
        )

    assert rows
    assert any(clv is not None for clv, *_ in rows)
    for clv, clv_key, probability, churn_key in rows:
        assert clv_key == clv_sort_key(clv)
        assert churn_key == churn_sort_key(probability)
