"""The nightly analytics job for one organization: summarize its orders per customer, score
every customer, write the scores and a snapshot of them, in one transaction.

Idempotent per (organization, as-of date): the AnalyticsRun ledger row is claimed through its
unique constraint, a rerun replaces the results (the customers' scores and the run's snapshot
rows) instead of adding to them, and readers never see half a run because the write-back is
one transaction with the tenant set.

On PostgreSQL the orders travel once, as binary COPY straight into numpy arrays, and the
per-customer summary that every metric needs (analytics/metrics/summary.py) is computed from
them; the scores travel back as binary COPY into a temporary table, from which the customers'
score rows are updated where they changed and the snapshot is inserted. SQLite takes a plain
path through the ORM.
"""

import io
import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from threadpoolctl import threadpool_limits

from analytics import scoring
from analytics.metrics import churn, prepare, summary
from analytics.models import (
    CHURN_BAND_LIMITS,
    CHURN_KEY_STEPS,
    CLV_KEY_STEPS,
    AnalyticsRun,
    ChurnBand,
    CustomerScore,
    CustomerScoreSnapshot,
    RunStatus,
    churn_sort_key,
    clv_sort_key,
)
from customers.models import Customer, RfmSegment, ValueQuadrant
from sales.models import Order
from tenancy.context import tenant_context
from tenancy.models import Organization, User

logger = logging.getLogger(__name__)

CHURN_HORIZON_DAYS = scoring.CHURN_HORIZON_DAYS
STALE_RUNNING = timedelta(hours=2)
DROP_RULES = [
    "missing_values",
    "cancelled_or_returned",
    "gifts",
    "negative_amounts",
    "future_dates",
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
        # One thread for numpy's BLAS and scikit-learn's OpenMP: workers run side by side on
        # shared cores, where idle threads spinning on a busy core made the fits 10-20 times
        # slower (docs/performance.md).
        with threadpool_limits(limits=1), tenant_context(org):
            loaded = stage("read", lambda: load_orders(org, as_of_timestamp(as_of)))
            customers = stage("summary", lambda: summarize_orders(loaded, as_of))
            previous = _previous_centroids(org, as_of)
            scored = scoring.score_customers(
                customers,
                as_of_timestamp(as_of),
                seed=org.pk,
                previous_centroids=previous,
                stage=stage,
            )
            write = stage("write", lambda: _write(org, run, as_of, scored))
            run.status = RunStatus.SUCCEEDED
            run.finished_at = timezone.now()
            run.stage_seconds = timings
            run.rows_read = loaded.rows_read
            run.rows_written = write["scored"]
            run.dropped = loaded.dropped
            run.metrics = _json_safe(
                {**scored.metrics, "write": write, "peak_memory_mb": _peak_memory_mb()}
            )
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
        with tenant_context(org):  # the ledger row is only visible to its tenant
            run.refresh_from_db()
        raise
    finally:
        cache.delete(key)
    return run


def as_of_timestamp(as_of: date) -> pd.Timestamp:
    """The last moment of `as_of`, in UTC."""
    return pd.Timestamp(datetime.combine(as_of, datetime.max.time())).tz_localize("UTC")


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


# --- Reading ----------------------------------------------------------------------------------


@dataclass
class LoadedOrders:
    """The completed orders up to as_of of the organization's live customers, as arrays."""

    customer_id: np.ndarray  # int64
    ordered_at: np.ndarray  # int64 nanoseconds since 1970-01-01 UTC
    amount: np.ndarray  # float64
    cost: np.ndarray  # float64, NaN when unknown
    rows_read: int
    dropped: dict[str, int]


def load_orders(org: Organization, as_of: pd.Timestamp) -> LoadedOrders:
    """Every order of the organization's live customers (merged-away duplicates and erased
    customers left out), with the rows prepare.prepare_orders drops counted per rule."""
    if connection.vendor == "postgresql":
        return _load_orders_postgres(org, as_of)
    return _load_orders_plain(org, as_of)


# The rules of prepare.prepare_orders, in its order, as one code per order (0: kept). Order
# columns are NOT NULL, so no order is dropped for missing values here.
_RULE_SQL = (
    "CASE WHEN o.status IN ('cancelled', 'returned') THEN 2 "
    "WHEN o.is_gift OR o.total = 0 THEN 3 WHEN o.total < 0 THEN 4 "
    "WHEN o.ordered_at > %s THEN 5 ELSE 0 END::int2"
)
# Binary COPY rows of (customer_id int8, ordered_at timestamptz, amount float8, cost float8,
# rule int2), every field NOT NULL: a fixed 56-byte record numpy reads in place.
_ORDER_RECORD = np.dtype(
    [
        ("fields", ">i2"),
        ("customer_id_size", ">i4"),
        ("customer_id", ">i8"),
        ("ordered_at_size", ">i4"),
        ("ordered_at", ">i8"),
        ("amount_size", ">i4"),
        ("amount", ">f8"),
        ("cost_size", ">i4"),
        ("cost", ">f8"),
        ("rule_size", ">i4"),
        ("rule", ">i2"),
    ]
)
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01, PostgreSQL's epoch, in microseconds


def _load_orders_postgres(org: Organization, as_of: pd.Timestamp) -> LoadedOrders:
    sql = (
        f"SELECT o.customer_id, o.ordered_at, o.total::float8, "
        f"COALESCE(o.cost_total::float8, 'NaN'), {_RULE_SQL} FROM sales_order o "
        "WHERE o.organization_id = %s AND NOT EXISTS (SELECT 1 FROM customers_customer c "
        "WHERE c.organization_id = %s AND c.id = o.customer_id "
        "AND (c.merged_into_id IS NOT NULL OR c.erased_at IS NOT NULL))"
    )
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        # Let PostgreSQL scan with parallel workers (the casts run in them); its default cost
        # of passing rows to the leader keeps a COPY of millions of rows on one core.
        cursor.execute("SET LOCAL parallel_tuple_cost = 0")
        query = cursor.mogrify(sql, [as_of.to_pydatetime(), org.pk, org.pk]).decode()
        cursor.cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer)
        cursor.execute("RESET parallel_tuple_cost")
    data = buffer.getbuffer()
    header = 19 + int.from_bytes(data[15:19], "big")  # signature, flags, extension length
    count = (len(data) - header - 2) // _ORDER_RECORD.itemsize
    records = np.frombuffer(data, dtype=_ORDER_RECORD, count=count, offset=header)
    if count and not (records["fields"] == 5).all():
        raise ValueError("Unexpected COPY row layout.")
    rule = records["rule"].astype(np.int16)
    kept = rule == 0
    loaded = LoadedOrders(
        customer_id=records["customer_id"][kept].astype(np.int64),
        ordered_at=(records["ordered_at"][kept].astype(np.int64) + _PG_EPOCH_US) * 1000,
        amount=records["amount"][kept].astype(np.float64),
        cost=records["cost"][kept].astype(np.float64),
        rows_read=count,
        dropped=dict(zip(DROP_RULES, np.bincount(rule, minlength=6)[1:].tolist(), strict=True)),
    )
    del records, data
    buffer.close()
    return loaded


def _load_orders_plain(org: Organization, as_of: pd.Timestamp) -> LoadedOrders:
    rows = list(
        Order.objects.filter(
            customer__merged_into__isnull=True, customer__erased_at__isnull=True
        ).values_list("customer_id", "ordered_at", "total", "cost_total", "status", "is_gift")
    )
    frame = pd.DataFrame(
        rows, columns=["customer_id", "ordered_at", "amount", "cost", "status", "is_gift"]
    )
    frame["amount"] = pd.to_numeric(frame["amount"], errors="coerce")
    frame["cost"] = pd.to_numeric(frame["cost"], errors="coerce")
    frame["is_gift"] = frame["is_gift"].astype(bool)
    prepared = prepare.prepare_orders(frame, as_of=as_of)
    orders = prepared.orders
    stamps = pd.to_datetime(orders["ordered_at"], utc=True).dt.as_unit("ns")
    return LoadedOrders(
        customer_id=orders["customer_id"].to_numpy(dtype=np.int64),
        ordered_at=stamps.dt.tz_localize(None).to_numpy().view(np.int64),
        amount=orders["amount"].to_numpy(dtype=float),
        cost=orders["cost"].to_numpy(dtype=float),
        rows_read=len(frame),
        dropped=prepared.dropped,
    )


def summarize_orders(loaded: LoadedOrders, as_of: date) -> pd.DataFrame:
    """The per-customer summary, with its cutoff columns at the churn model's training cutoff."""
    as_of_ts = as_of_timestamp(as_of)
    if len(loaded.customer_id) == 0:
        return summary.empty()
    first = pd.Timestamp(int(loaded.ordered_at.min()), unit="ns", tz="UTC")
    _horizon, cutoff = churn.training_window(first, as_of_ts, CHURN_HORIZON_DAYS)
    return summary.summarize(
        customer_id=loaded.customer_id,
        ordered_at=loaded.ordered_at,
        amount=loaded.amount,
        cost=loaded.cost,
        as_of=as_of_ts,
        cutoff=cutoff,
    )


# --- Writing ----------------------------------------------------------------------------------

SCORE_FIELDS = [
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
    "churn_band",
    "churn_reason_1",
    "churn_reason_1_value",
    "churn_reason_2",
    "churn_reason_2_value",
    "profitability",
    "value_quadrant",
    "customer_created_at",
    "clv_key",
    "churn_key",
]
SNAPSHOT_FIELDS = [
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "rfm_segment",
    "cluster",
    "clv",
    "churn_probability",
    "profitability",
    "value_quadrant",
]
SEGMENTS = [choice.value for choice in RfmSegment]
QUADRANTS = [choice.value for choice in ValueQuadrant]
REASON_CODES = [churn.REASONS[name] for name in churn.FEATURES]


def score_table(scored: scoring.Scored) -> pd.DataFrame:
    """The scores as numbers, one row per customer: text columns as codes into SEGMENTS,
    QUADRANTS, the run's cluster names and REASON_CODES (-1: none); NaN where unknown."""
    scores = scored.scores
    if scores.empty:
        return pd.DataFrame(
            {name: pd.Series(dtype=np.dtype(t).newbyteorder("=")) for name, _pg, t in _STAGING}
        )
    result = scored.churn
    features = result.reason_features if result is not None else np.full((len(scores), 2), -1)
    values = result.reason_values if result is not None else np.zeros((len(scores), 2))
    cluster = pd.to_numeric(scores["cluster"], errors="coerce")
    return pd.DataFrame(
        {
            "customer_id": scores.index.to_numpy(dtype=np.int64),
            "rfm_recency_days": scores["recency"].to_numpy(dtype=np.int64),
            "rfm_frequency": scores["frequency"].to_numpy(dtype=np.int64),
            "rfm_monetary": scores["monetary"].to_numpy(dtype=float),
            "rfm_r": scores["r"].to_numpy(dtype=np.int64),
            "rfm_f": scores["f"].to_numpy(dtype=np.int64),
            "rfm_m": scores["m"].to_numpy(dtype=np.int64),
            "segment": pd.Categorical(scores["segment"], categories=SEGMENTS).codes,
            "cluster": cluster.fillna(-1).to_numpy(dtype=np.int64),
            "clv": pd.to_numeric(scores["clv"], errors="coerce").to_numpy(dtype=float),
            "churn_probability": np.round(
                pd.to_numeric(scores["churn_probability"], errors="coerce").to_numpy(float), 6
            ),
            "reason1": features[:, 0],
            "value1": np.round(values[:, 0], 2),
            "reason2": features[:, 1],
            "value2": np.round(values[:, 1], 2),
            "profitability": pd.to_numeric(scores["profitability"], errors="coerce").to_numpy(
                dtype=float
            ),
            "quadrant": pd.Categorical(scores["quadrant"], categories=QUADRANTS).codes,
        }
    )


def _write(org: Organization, run: AnalyticsRun, as_of: date, scored: scoring.Scored) -> dict:
    scored_at = timezone.now()
    table = score_table(scored)
    names = scored.metrics.get("cluster_names", {})
    cluster_names = [names.get(str(i), "") for i in range(max(map(int, names), default=-1) + 1)]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            return _write_postgres(org, run, as_of, table, cluster_names, scored_at)
        return _write_plain(org, run, as_of, table, cluster_names, scored_at)


# Binary COPY of the score table into a temporary table: (name, PostgreSQL type, numpy type).
_STAGING = [
    ("customer_id", "int8", ">i8"),
    ("rfm_recency_days", "int4", ">i4"),
    ("rfm_frequency", "int4", ">i4"),
    ("rfm_monetary", "float8", ">f8"),
    ("rfm_r", "int2", ">i2"),
    ("rfm_f", "int2", ">i2"),
    ("rfm_m", "int2", ">i2"),
    ("segment", "int2", ">i2"),
    ("cluster", "int2", ">i2"),
    ("clv", "float8", ">f8"),
    ("churn_probability", "float8", ">f8"),
    ("reason1", "int2", ">i2"),
    ("value1", "float8", ">f8"),
    ("reason2", "int2", ">i2"),
    ("value2", "float8", ">f8"),
    ("profitability", "float8", ">f8"),
    ("quadrant", "int2", ">i2"),
]

# From the staged numbers to the score columns (text from the code arrays, NULL for NaN / -1).
_INCOMING_SQL = """
CREATE TEMP TABLE analytics_incoming ON COMMIT DROP AS
SELECT s.customer_id, s.rfm_recency_days, s.rfm_frequency,
       round(s.rfm_monetary::numeric, 2) AS rfm_monetary, s.rfm_r, s.rfm_f, s.rfm_m,
       (%(segments)s::text[])[s.segment + 1] AS rfm_segment,
       NULLIF(s.cluster, -1) AS cluster,
       COALESCE((%(cluster_names)s::text[])[s.cluster + 1], '') AS cluster_name,
       round(NULLIF(s.clv, 'NaN')::numeric, 2) AS clv,
       NULLIF(s.churn_probability, 'NaN') AS churn_probability,
       CASE WHEN s.churn_probability = 'NaN' THEN ''
            WHEN s.churn_probability < %(low)s THEN 'low'
            WHEN s.churn_probability < %(medium)s THEN 'medium' ELSE 'high' END AS churn_band,
       COALESCE((%(reasons)s::text[])[s.reason1 + 1], '') AS churn_reason_1,
       CASE WHEN s.reason1 >= 0 THEN s.value1 END AS churn_reason_1_value,
       COALESCE((%(reasons)s::text[])[s.reason2 + 1], '') AS churn_reason_2,
       CASE WHEN s.reason2 >= 0 THEN s.value2 END AS churn_reason_2_value,
       round(NULLIF(s.profitability, 'NaN')::numeric, 2) AS profitability,
       (%(quadrants)s::text[])[s.quadrant + 1] AS value_quadrant,
       c.created_at AS customer_created_at,
       (sign(round(NULLIF(s.clv, 'NaN')::numeric, 2))
        * floor(ln(1 + abs(round(NULLIF(s.clv, 'NaN')::numeric, 2))) * %(clv_steps)s))::int
         AS clv_key,
       floor(NULLIF(s.churn_probability, 'NaN') * %(churn_steps)s)::smallint AS churn_key
  FROM analytics_staging s
  CROSS JOIN LATERAL (SELECT created_at FROM customers_customer
                       WHERE organization_id = %(org)s AND id = s.customer_id) c
"""


def _binary_copy(table: pd.DataFrame) -> io.BytesIO:
    """The table in PostgreSQL's binary COPY format (every field NOT NULL, fixed width)."""
    layout = [("fields", ">i2")]
    for name, _pg_type, numpy_type in _STAGING:
        layout += [(f"{name}_size", ">i4"), (name, numpy_type)]
    records = np.zeros(len(table), dtype=np.dtype(layout))
    records["fields"] = len(_STAGING)
    for name, _pg_type, numpy_type in _STAGING:
        records[f"{name}_size"] = np.dtype(numpy_type).itemsize
        records[name] = table[name].to_numpy()
    buffer = io.BytesIO()
    buffer.write(b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big"))
    buffer.write(records.tobytes())
    buffer.write((-1).to_bytes(2, "big", signed=True))
    buffer.seek(0)
    return buffer


def _write_postgres(org, run, as_of, table, cluster_names, scored_at) -> dict:
    org_id = int(org.pk)
    columns = ", ".join(SCORE_FIELDS)
    incoming = ", ".join(f"i.{name}" for name in SCORE_FIELDS)
    current = ", ".join(f"s.{name}" for name in SCORE_FIELDS)
    with connection.cursor() as cursor:
        # Dropped at commit, and explicitly below: several runs may share one transaction (tests).
        cursor.execute("DROP TABLE IF EXISTS pg_temp.analytics_staging, pg_temp.analytics_incoming")
        cursor.execute(
            "CREATE TEMP TABLE analytics_staging ("
            + ", ".join(f"{name} {pg_type} NOT NULL" for name, pg_type, _np in _STAGING)
            + ") ON COMMIT DROP"
        )
        cursor.cursor.copy_expert(
            "COPY analytics_staging FROM STDIN WITH (FORMAT binary)", _binary_copy(table)
        )
        cursor.execute(
            _INCOMING_SQL,
            {
                "segments": SEGMENTS,
                "cluster_names": cluster_names,
                "reasons": REASON_CODES,
                "quadrants": QUADRANTS,
                "low": CHURN_BAND_LIMITS[ChurnBand.LOW],
                "medium": CHURN_BAND_LIMITS[ChurnBand.MEDIUM],
                "org": org_id,
                "clv_steps": CLV_KEY_STEPS,
                "churn_steps": CHURN_KEY_STEPS,
            },
        )
        scored = cursor.rowcount  # customers deleted since the orders were read drop out
        cursor.execute("ANALYZE analytics_incoming")
        # One pass over the incoming rows, each a primary-key probe: new customers are
        # inserted, the others updated only where a score changed (a rerun of the same day
        # rewrites nothing), in key order so that the primary key grows at its end.
        excluded = ", ".join(f"EXCLUDED.{name}" for name in SCORE_FIELDS)
        cursor.execute(
            "WITH upserted AS (INSERT INTO analytics_customerscore AS s (organization_id, "
            f"customer_id, {columns}, scored_at) SELECT %s, i.customer_id, {incoming}, %s "
            "FROM analytics_incoming i ORDER BY i.customer_id ON CONFLICT (customer_id) "
            f"DO UPDATE SET ({columns}, scored_at) = ({excluded}, EXCLUDED.scored_at) "
            f"WHERE ({current}) IS DISTINCT FROM ({excluded}) RETURNING (xmax = 0) AS added) "
            "SELECT count(*) FILTER (WHERE added), count(*) FILTER (WHERE NOT added) "
            "FROM upserted",
            [org_id, scored_at],
        )
        added, changed = cursor.fetchone()
        # Customers scored before but not now (their orders were cancelled, say) lose their scores.
        cursor.execute(
            "DELETE FROM analytics_customerscore s WHERE s.organization_id = %s AND NOT EXISTS "
            "(SELECT 1 FROM analytics_incoming i WHERE i.customer_id = s.customer_id)",
            [org_id],
        )
        removed = cursor.rowcount
        cursor.execute(
            "DELETE FROM analytics_customerscoresnapshot "
            "WHERE organization_id = %s AND run_id = %s",
            [org_id, run.pk],
        )
        snapshot = ", ".join(SNAPSHOT_FIELDS)
        cursor.execute(
            "INSERT INTO analytics_customerscoresnapshot (organization_id, run_id, as_of, "
            f"customer_id, {snapshot}) SELECT %s, %s, %s, customer_id, {snapshot} "
            "FROM analytics_incoming ORDER BY customer_id",
            [org_id, run.pk, as_of],
        )
        cursor.execute("DROP TABLE analytics_staging, analytics_incoming")
    return {"scored": scored, "changed": changed, "added": added, "removed": removed}


def _score_rows(table: pd.DataFrame, cluster_names: list[str]) -> list[dict]:
    """The score table as field values per customer, as _INCOMING_SQL turns it (plain path)."""
    rows = []
    for row in table.itertuples(index=False):
        reasons = {}
        for n, code, value in ((1, row.reason1, row.value1), (2, row.reason2, row.value2)):
            reasons[f"churn_reason_{n}"] = REASON_CODES[code] if code >= 0 else ""
            reasons[f"churn_reason_{n}_value"] = float(value) if code >= 0 else None
        cluster = int(row.cluster) if row.cluster >= 0 else None
        rows.append(
            {
                "customer_id": int(row.customer_id),
                "rfm_recency_days": int(row.rfm_recency_days),
                "rfm_frequency": int(row.rfm_frequency),
                "rfm_monetary": _money(row.rfm_monetary),
                "rfm_r": int(row.rfm_r),
                "rfm_f": int(row.rfm_f),
                "rfm_m": int(row.rfm_m),
                "rfm_segment": SEGMENTS[row.segment],
                "cluster": cluster,
                "cluster_name": cluster_names[cluster]
                if cluster is not None and cluster < len(cluster_names)
                else "",
                "clv": _money(row.clv),
                "churn_probability": None
                if np.isnan(row.churn_probability)
                else float(row.churn_probability),
                "churn_band": churn_band(row.churn_probability),
                **reasons,
                "profitability": _money(row.profitability),
                "value_quadrant": QUADRANTS[row.quadrant],
                "clv_key": clv_sort_key(_money(row.clv)),
                "churn_key": churn_sort_key(row.churn_probability),
            }
        )
    return rows


def churn_band(probability: float) -> str:
    """The churn-risk band of a probability ("" when unknown), as _INCOMING_SQL sets it."""
    if np.isnan(probability):
        return ""
    for band, limit in CHURN_BAND_LIMITS.items():
        if probability < limit:
            return band.value
    return ChurnBand.HIGH.value


def _money(value: float) -> Decimal | None:
    return None if np.isnan(value) else Decimal(str(round(float(value), 2)))


def _write_plain(org, run, as_of, table, cluster_names, scored_at) -> dict:
    """Replace the organization's score rows (SQLite: the tests and the small demo)."""
    created = dict(
        Customer.objects.filter(pk__in=table["customer_id"].tolist()).values_list(
            "pk", "created_at"
        )
    )
    rows = [
        {**row, "customer_created_at": created[row["customer_id"]]}
        for row in _score_rows(table, cluster_names)
        if row["customer_id"] in created  # not deleted since the orders were read
    ]
    scored_ids = {row["customer_id"] for row in rows}
    existing = set(CustomerScore.objects.values_list("customer_id", flat=True))
    CustomerScore.objects.all().delete()
    CustomerScore.objects.bulk_create(
        [CustomerScore(organization=org, scored_at=scored_at, **row) for row in rows],
        batch_size=2000,
    )
    CustomerScoreSnapshot.objects.filter(run=run).delete()
    CustomerScoreSnapshot.objects.bulk_create(
        [
            CustomerScoreSnapshot(
                organization=org,
                run=run,
                as_of=as_of,
                customer_id=row["customer_id"],
                **{name: row[name] for name in SNAPSHOT_FIELDS},
            )
            for row in rows
        ],
        batch_size=2000,
    )
    return {
        "scored": len(rows),
        "changed": len(existing & scored_ids),
        "added": len(scored_ids - existing),
        "removed": len(existing - scored_ids),
    }
