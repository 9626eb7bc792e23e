"""The nightly analytics job for one organization: load its orders, score every customer, write
the scores back onto the customers and into a snapshot, in one transaction.

Idempotent per (organization, as-of date): the AnalyticsRun ledger row is claimed through its
unique constraint, a rerun replaces the results (customer fields and the run's snapshot rows)
instead of adding to them, and readers never see half a run because the write-back is one
transaction with the tenant set. On PostgreSQL orders are read with COPY and scores are written
with COPY into a temporary staging table and one UPDATE ... FROM; SQLite takes a plain path.
"""

import io
import json
import logging
import resource
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from analytics.metrics import churn, clv, prepare, profitability, rfm, segmentation
from analytics.models import AnalyticsRun, CustomerScoreSnapshot, RunStatus
from customers.models import Customer
from tenancy.context import tenant_context
from tenancy.models import Organization, User

logger = logging.getLogger(__name__)

CLV_HORIZON_DAYS = 365
CHURN_HORIZON_DAYS = 90
ANNUAL_DISCOUNT_RATE = 0.10
STALE_RUNNING = timedelta(hours=2)

SCORE_COLUMNS = [
    "customer_id",
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
    "churn_reasons",
    "profitability",
    "value_quadrant",
]


def progress_key(org_id: int, as_of: date) -> str:
    return f"analytics-progress:{org_id}:{as_of.isoformat()}"


def run_progress(*, org: Organization, as_of: date) -> str:
    """The stage a running job is in (kept in the cache: the run's transaction hides it)."""
    return cache.get(progress_key(org.pk, as_of), "")


def _claim(org: Organization, as_of: date, by: User | None) -> AnalyticsRun | None:
    """Claim the ledger row for (org, as_of), or None when another worker holds it."""
    with tenant_context(org):
        run, created = AnalyticsRun.objects.select_for_update().get_or_create(
            organization=org, as_of=as_of, defaults={"requested_by": by}
        )
        if created:
            return run
        if run.status == RunStatus.RUNNING and timezone.now() - run.started_at < STALE_RUNNING:
            return None
        run.status = RunStatus.RUNNING
        run.attempts += 1
        run.started_at = timezone.now()
        run.finished_at = None
        run.error = ""
        run.requested_by = by or run.requested_by
        run.save()
        return run


def analytics_run(*, org: Organization, as_of: date, by: User | None = None) -> AnalyticsRun | None:
    """Score `org`'s customers as of the end of `as_of`; returns the ledger row (None if another
    worker is running the same date right now)."""
    run = _claim(org, as_of, by)
    if run is None:
        return None
    timings: dict[str, float] = {}
    key = progress_key(org.pk, as_of)

    def stage(name: str, function: Callable):
        cache.set(key, name, 3600)
        started = time.perf_counter()
        value = function()
        timings[name] = round(time.perf_counter() - started, 3)
        return value

    try:
        with tenant_context(org):
            scores, facts = _compute(org, as_of, stage)
            written = stage("write", lambda: _write(org, run, as_of, scores))
            run.status = RunStatus.SUCCEEDED
            run.finished_at = timezone.now()
            run.stage_seconds = timings
            run.rows_read = facts["rows_read"]
            run.rows_written = written
            run.dropped = facts["dropped"]
            run.metrics = _json_safe({**facts["metrics"], "peak_memory_mb": _peak_memory_mb()})
            run.save()
    except Exception as error:
        logger.exception("Analytics run failed for organization %s as of %s", org.pk, as_of)
        with tenant_context(org):
            AnalyticsRun.objects.filter(pk=run.pk).update(
                status=RunStatus.FAILED,
                finished_at=timezone.now(),
                error=str(error)[:2000],
                stage_seconds=timings,
            )
        run.refresh_from_db()
        raise
    finally:
        cache.delete(key)
    return run


def _json_safe(value):
    """Metrics as JSON: numpy numbers to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else float(value)
    return value


def _peak_memory_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# --- Reading ----------------------------------------------------------------------------------


def load_orders(org: Organization) -> pd.DataFrame:
    """Every order of the organization: customer_id, ordered_at, amount, cost, status, is_gift."""
    sql = (
        "SELECT o.customer_id, o.ordered_at, o.total AS amount, o.cost_total AS cost, o.status, "
        "o.is_gift FROM sales_order o JOIN customers_customer c ON c.id = o.customer_id "
        "WHERE o.organization_id = {org} AND c.organization_id = {org} "
        "AND c.merged_into_id IS NULL AND c.erased_at IS NULL"
    ).format(org=int(org.pk))
    columns = ["customer_id", "ordered_at", "amount", "cost", "status", "is_gift"]
    if connection.vendor == "postgresql":
        buffer = io.BytesIO()
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", buffer)
        buffer.seek(0)
        frame = pd.read_csv(buffer, names=columns, dtype={"status": "category"})
        frame["is_gift"] = frame["is_gift"] == "t"
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            frame = pd.DataFrame(cursor.fetchall(), columns=columns)
        frame["is_gift"] = frame["is_gift"].astype(bool)
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"], utc=True, format="ISO8601")
    frame["amount"] = pd.to_numeric(frame["amount"], errors="coerce")
    frame["cost"] = pd.to_numeric(frame["cost"], errors="coerce")
    return frame


# --- Computing --------------------------------------------------------------------------------


def _bgnbd_frame(orders: pd.DataFrame, as_of_ts: pd.Timestamp) -> pd.DataFrame:
    """Per customer, in days: frequency (repeat purchase days), recency, T, and the mean value of
    the repeat purchases (the Gamma-Gamma input)."""
    daily = (
        orders.assign(day=orders["ordered_at"].dt.floor("D"))
        .groupby(["customer_id", "day"], sort=True)["amount"]
        .sum()
        .reset_index()
    )
    grouped = daily.groupby("customer_id")
    first, last, count, total = (
        grouped["day"].min(),
        grouped["day"].max(),
        grouped.size(),
        grouped["amount"].sum(),
    )
    first_value = grouped["amount"].first()
    frame = pd.DataFrame(
        {
            "frequency": (count - 1).astype(float),
            "recency": (last - first).dt.days.astype(float),
            "T": (as_of_ts.floor("D") - first).dt.days.astype(float),
        }
    )
    repeat_total = total - first_value
    frame["monetary"] = np.where(
        frame["frequency"] > 0, repeat_total / frame["frequency"].clip(lower=1), 0.0
    )
    return frame


def _compute(org: Organization, as_of: date, stage: Callable) -> tuple[pd.DataFrame, dict]:
    as_of_ts = pd.Timestamp(datetime.combine(as_of, datetime.max.time())).tz_localize("UTC")
    raw = stage("read", lambda: load_orders(org))
    prepared = stage("prepare", lambda: prepare.prepare_orders(raw, as_of=as_of_ts))
    orders = prepared.orders
    metrics: dict = {"customers_scored": 0}
    facts = {"rows_read": len(raw), "dropped": prepared.dropped, "metrics": metrics}
    if orders.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS), facts

    scores = stage("rfm", lambda: rfm.score(orders, as_of_ts))
    metrics["customers_scored"] = len(scores)

    previous = _previous_centroids(org, as_of)

    def run_segmentation():
        if len(scores) < 10:
            return None
        features = scores.rename(columns={})[["recency", "frequency", "monetary"]]
        return segmentation.segment(features, seed=org.pk, previous_centroids=previous)

    seg = stage("segmentation", run_segmentation)
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

    summary = _bgnbd_frame(orders, as_of_ts).reindex(scores.index)
    revenue = orders.groupby("customer_id")["amount"].sum()
    cost = orders.groupby("customer_id")["cost"].sum(min_count=1)
    org_margin = (
        1 - float(cost.sum()) / float(revenue[cost.notna()].sum()) if cost.notna().any() else 0.3
    )
    margin_rate = (
        (1 - cost / revenue).fillna(org_margin).clip(lower=0, upper=1).reindex(scores.index)
    )

    fitted: dict = {}

    def run_clv():
        bg = clv.fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
        fitted["bgnbd"] = bg
        gg = clv.fit_gamma_gamma(summary["frequency"], summary["monetary"])
        values = clv.clv(
            bg,
            gg,
            summary,
            horizon=CLV_HORIZON_DAYS,
            discount_rate=(1 + ANNUAL_DISCOUNT_RATE) ** (1 / 12) - 1,
            margin=margin_rate.to_numpy(),
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
        scores["clv"] = stage("clv", run_clv)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as error:
        metrics["clv_error"] = str(error)[:300]
        scores["clv"] = np.nan

    def run_churn():
        result = churn.predict(
            orders, as_of_ts, CHURN_HORIZON_DAYS, seed=org.pk, bgnbd_at_as_of=fitted.get("bgnbd")
        )
        metrics["churn"] = {"model": result.model, **{k: v for k, v in result.metrics.items()}}
        return result

    churn_result = stage("churn", run_churn)
    scores["churn_probability"] = churn_result.probability.reindex(scores.index)
    scores["churn_reasons"] = churn_result.reasons.reindex(scores.index)

    def run_profitability():
        result = profitability.customer_profitability(
            orders, future_margin=scores["clv"].fillna(0.0), default_margin_rate=org_margin
        )
        metrics["pareto_top20_share"] = round(
            profitability.pareto_share(result["profitability"]), 4
        )
        return result["profitability"]

    scores["profitability"] = stage("profitability", run_profitability).reindex(scores.index)
    return scores, facts


def _previous_centroids(org: Organization, as_of: date) -> np.ndarray | None:
    previous = (
        AnalyticsRun.objects.filter(status=RunStatus.SUCCEEDED, as_of__lt=as_of)
        .order_by("-as_of")
        .values_list("metrics", flat=True)
        .first()
    )
    if previous and previous.get("centroids"):
        return np.array(previous["centroids"], dtype=float)
    return None


# --- Writing ----------------------------------------------------------------------------------


def score_table(scores: pd.DataFrame) -> pd.DataFrame:
    """The scores in the columns of SCORE_COLUMNS, vectorized (a million rows in seconds)."""
    if scores.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    reasons = (
        scores["churn_reasons"] if "churn_reasons" in scores else pd.Series(index=scores.index)
    )
    table = pd.DataFrame(
        {
            "customer_id": scores.index.astype("int64"),
            "rfm_recency_days": scores["recency"].astype("int64").to_numpy(),
            "rfm_frequency": scores["frequency"].astype("int64").to_numpy(),
            "rfm_monetary": scores["monetary"].round(2).to_numpy(),
            "rfm_r": scores["r"].astype("int64").to_numpy(),
            "rfm_f": scores["f"].astype("int64").to_numpy(),
            "rfm_m": scores["m"].astype("int64").to_numpy(),
            "rfm_segment": scores["segment"].to_numpy(),
            "cluster": pd.array(scores["cluster"], dtype="Int64"),
            "cluster_name": scores["cluster_name"].fillna("").to_numpy(),
            "clv": pd.to_numeric(scores["clv"], errors="coerce").round(2).to_numpy(),
            "churn_probability": pd.to_numeric(scores["churn_probability"], errors="coerce")
            .round(6)
            .to_numpy(),
            "churn_reasons": [
                json.dumps([{"code": code, "value": value} for code, value in (items or [])])
                if isinstance(items, list)
                else "[]"
                for items in reasons
            ],
            "profitability": pd.to_numeric(scores["profitability"], errors="coerce")
            .round(2)
            .to_numpy(),
            "value_quadrant": scores["quadrant"].to_numpy(),
        }
    )
    return table[SCORE_COLUMNS]


def _rows(scores: pd.DataFrame):
    """The score table as Python rows (None for missing values), for the plain path."""
    table = score_table(scores).astype(object)
    table = table.where(pd.notna(table), None)
    yield from table.itertuples(index=False, name=None)


def _write(org: Organization, run: AnalyticsRun, as_of: date, scores: pd.DataFrame) -> int:
    scored_at = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            written = _write_postgres(org, run, as_of, scores, scored_at)
        else:
            written = _write_plain(org, run, as_of, scores, scored_at)
    return written


def _write_postgres(org, run, as_of, scores, scored_at) -> int:
    buffer = io.StringIO()
    score_table(scores).to_csv(buffer, header=False, index=False, na_rep="")
    buffer.seek(0)
    org_id = int(org.pk)
    with connection.cursor() as cursor:
        # Dropped at commit, and explicitly below: several runs may share one transaction (tests).
        cursor.execute("DROP TABLE IF EXISTS pg_temp.analytics_staging")
        cursor.execute(
            "CREATE TEMP TABLE analytics_staging (customer_id bigint PRIMARY KEY, "
            "rfm_recency_days integer, rfm_frequency integer, rfm_monetary numeric(14,2), "
            "rfm_r smallint, rfm_f smallint, rfm_m smallint, rfm_segment varchar(20), "
            "cluster smallint, cluster_name varchar(80), clv numeric(14,2), "
            "churn_probability double precision, churn_reasons jsonb, profitability numeric(14,2), "
            "value_quadrant varchar(10)) ON COMMIT DROP"
        )
        cursor.cursor.copy_expert(
            f"COPY analytics_staging ({', '.join(SCORE_COLUMNS)}) FROM STDIN WITH (FORMAT csv)",
            buffer,
        )
        cursor.execute(
            "UPDATE customers_customer c SET rfm_recency_days = s.rfm_recency_days, "
            "rfm_frequency = s.rfm_frequency, rfm_monetary = s.rfm_monetary, rfm_r = s.rfm_r, "
            "rfm_f = s.rfm_f, rfm_m = s.rfm_m, rfm_segment = s.rfm_segment, cluster = s.cluster, "
            "cluster_name = s.cluster_name, clv = s.clv, churn_probability = s.churn_probability, "
            "churn_reasons = s.churn_reasons, profitability = s.profitability, "
            "value_quadrant = s.value_quadrant, scored_at = %s "
            "FROM analytics_staging s WHERE c.organization_id = %s AND c.id = s.customer_id",
            [scored_at, org_id],
        )
        written = cursor.rowcount
        # Customers scored before but not now (their orders were cancelled, say) lose their scores.
        cursor.execute(
            "UPDATE customers_customer SET rfm_recency_days = NULL, rfm_frequency = NULL, "
            "rfm_monetary = NULL, rfm_r = NULL, rfm_f = NULL, rfm_m = NULL, rfm_segment = '', "
            "cluster = NULL, cluster_name = '', clv = NULL, churn_probability = NULL, "
            "churn_reasons = '[]'::jsonb, profitability = NULL, value_quadrant = '', "
            "scored_at = NULL "
            "WHERE organization_id = %s AND scored_at IS NOT NULL AND scored_at < %s",
            [org_id, scored_at],
        )
        cursor.execute(
            "DELETE FROM analytics_customerscoresnapshot "
            "WHERE organization_id = %s AND run_id = %s",
            [org_id, run.pk],
        )
        cursor.execute(
            "INSERT INTO analytics_customerscoresnapshot (organization_id, run_id, as_of, "
            "customer_id, rfm_r, rfm_f, rfm_m, rfm_segment, cluster, clv, churn_probability, "
            "profitability, value_quadrant) SELECT %s, %s, %s, customer_id, rfm_r, rfm_f, rfm_m, "
            "rfm_segment, cluster, clv, churn_probability, profitability, value_quadrant "
            "FROM analytics_staging",
            [org_id, run.pk, as_of],
        )
        cursor.execute("DROP TABLE analytics_staging")
    return written


def _write_plain(org, run, as_of, scores, scored_at) -> int:
    rows = {row[0]: row for row in _rows(scores)}
    fields = [*SCORE_COLUMNS[1:], "scored_at"]
    written = 0
    ids = list(rows)
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        customers = list(
            Customer.objects.filter(pk__in=chunk, merged_into__isnull=True, erased_at__isnull=True)
        )
        for customer in customers:
            values = rows[customer.pk]
            for name, value in zip(SCORE_COLUMNS[1:], values[1:], strict=True):
                if name == "churn_reasons":
                    value = json.loads(value)
                setattr(
                    customer,
                    name,
                    ""
                    if value is None and name in ("rfm_segment", "cluster_name", "value_quadrant")
                    else value,
                )
            customer.scored_at = scored_at
        Customer.objects.bulk_update(customers, fields, batch_size=500)
        written += len(customers)
    Customer.objects.filter(scored_at__lt=scored_at).update(
        rfm_recency_days=None,
        rfm_frequency=None,
        rfm_monetary=None,
        rfm_r=None,
        rfm_f=None,
        rfm_m=None,
        rfm_segment="",
        cluster=None,
        cluster_name="",
        clv=None,
        churn_probability=None,
        churn_reasons=[],
        profitability=None,
        value_quadrant="",
        scored_at=None,
    )
    CustomerScoreSnapshot.objects.filter(run=run).delete()
    CustomerScoreSnapshot.objects.bulk_create(
        [
            CustomerScoreSnapshot(
                organization=org,
                run=run,
                as_of=as_of,
                customer_id=values[0],
                rfm_r=values[4],
                rfm_f=values[5],
                rfm_m=values[6],
                rfm_segment=values[7],
                cluster=values[8],
                clv=values[10],
                churn_probability=values[11],
                profitability=values[13],
                value_quadrant=values[14],
            )
            for values in rows.values()
        ],
        batch_size=2000,
    )
    return written
