"""The analytics job at scale: seconds and peak memory per stage, end to end.

    DATABASE_URL=postgres://clientele_owner@127.0.0.1:5432/clientele_bench \\
        .venv/bin/python bench/analytics.py --customers 1000000 --orders 10000000

Data: the customers come from bench/seed_customers.py (run here when the organization has fewer
than --customers); the orders are generated here directly, vectorized with numpy, with the
purchase structure the models look for: each customer buys at its own Gamma-distributed rate
until a Beta-distributed dropout ends it, spends around its own Gamma-distributed level, more in
November and December; about 2 % cancelled, 1 % returned, 0.5 % zero-value gifts. Orders are
COPied into a staging table and moved under the tenant policy with INSERT ... SELECT, with the
order indexes rebuilt afterwards.

The job itself runs as the app role (SET ROLE clientele_app: row-level security in force) exactly
as the nightly Celery task does (analytics.pipeline.analytics_run); the pure computation is also
timed alone. Results go to bench/results/analytics_<customers>.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from django.db import connection  # noqa: E402

from tenancy.context import tenant_context  # noqa: E402
from tenancy.db import become_app_role, become_owner  # noqa: E402
from tenancy.models import Organization  # noqa: E402

AS_OF = date(2026, 11, 1)
HISTORY_DAYS = 3 * 365


def _count(sql: str, org: Organization) -> int:
    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute(sql, [org.pk])
        return int(cursor.fetchone()[0])


def _generate_orders(customer_ids: np.ndarray, target: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = len(customer_ids)
    mean_orders = target / n
    acquisition = rng.uniform(0, HISTORY_DAYS, n)  # days after the start of history
    observed = HISTORY_DAYS - acquisition
    rate = rng.gamma(0.9, (mean_orders / 0.9) / (HISTORY_DAYS / 2), n)  # purchases a day
    dropout = rng.beta(1.2, 12.0, n)
    alive_purchases = rng.poisson(rate * observed)
    before_dropout = rng.geometric(dropout) - 1
    repeats = np.minimum(alive_purchases, before_dropout)
    counts = 1 + repeats
    scale = target / counts.sum()  # hit the requested total
    counts = np.maximum(1, np.round(counts * scale)).astype(np.int64)
    span = np.where(repeats < alive_purchases, observed * rng.beta(2, 2, n), observed)
    owner = np.repeat(np.arange(n), counts)
    first = np.r_[0, np.cumsum(counts)[:-1]]
    is_first = np.zeros(owner.size, dtype=bool)
    is_first[first] = True
    offsets = np.where(is_first, 0.0, rng.uniform(0, 1, owner.size) * span[owner])
    day = acquisition[owner] + offsets
    # Seasonality: move a share of orders into November and December.
    month_shift = rng.random(owner.size) < 0.12
    day = np.where(month_shift, day - (day % 365) + rng.uniform(305, 364, owner.size), day)
    day = np.clip(day, 0, HISTORY_DAYS - 0.01)
    level = rng.gamma(2.0, 45.0, n)
    amount = np.round(level[owner] * rng.gamma(4.0, 0.25, owner.size), 2)
    status = np.where(rng.random(owner.size) < 0.02, "cancelled", "completed").astype(object)
    status[rng.random(owner.size) < 0.01] = "returned"
    gift = rng.random(owner.size) < 0.005
    amount[gift] = 0.0
    cost = np.round(amount * rng.uniform(0.55, 0.75, owner.size), 2)
    return {
        "customer_id": customer_ids[owner],
        "day": day,
        "amount": amount,
        "cost": cost,
        "status": status,
        "gift": gift,
    }


ORDER_COLUMNS = [
    "organization_id",
    "number",
    "customer_id",
    "ordered_at",
    "status",
    "channel",
    "is_gift",
    "subtotal",
    "discount",
    "total",
    "cost_total",
    "created_at",
]


def load_orders(org: Organization, target: int, seed: int) -> float:
    started = time.perf_counter()
    with tenant_context(org), connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM customers_customer WHERE organization_id = %s ORDER BY id", [org.pk]
        )
        ids = np.fromiter((row[0] for row in cursor.fetchall()), dtype=np.int64)
    data = _generate_orders(ids, target, seed)
    start = datetime(AS_OF.year, AS_OF.month, AS_OF.day, tzinfo=UTC) - timedelta(days=HISTORY_DAYS)
    stamps = np.datetime64(start.replace(tzinfo=None)) + (data["day"] * 86400).astype(
        "timedelta64[s]"
    )
    stamps = np.datetime_as_string(stamps, unit="s")
    total = len(ids)
    print(f"generated {len(stamps):,} orders for {total:,} customers", flush=True)
    with tenant_context(org), connection.cursor() as cursor:
        # Django's foreign keys are deferred; checking them per statement lets the indexes be
        # rebuilt in this same transaction.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("DELETE FROM sales_orderline WHERE organization_id = %s", [org.pk])
        cursor.execute("DELETE FROM sales_order WHERE organization_id = %s", [org.pk])
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'sales_order' "
            "AND indexname NOT LIKE '%%pkey' AND indexname NOT LIKE '%%uniq'"
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        chunk = 1_000_000
        now = datetime.now(UTC).isoformat()
        names = ", ".join(ORDER_COLUMNS)
        cursor.execute(
            f"CREATE TEMP TABLE seed_order ON COMMIT DROP AS SELECT {names} FROM sales_order "
            "WITH NO DATA"
        )
        for begin in range(0, len(stamps), chunk):
            end = min(begin + chunk, len(stamps))
            frame = pd.DataFrame(
                {
                    "organization_id": org.pk,
                    "number": [f"B{k}" for k in range(begin + 1, end + 1)],
                    "customer_id": data["customer_id"][begin:end],
                    "ordered_at": np.char.add(stamps[begin:end].astype(str), "+00"),
                    "status": data["status"][begin:end],
                    "channel": "web",
                    "is_gift": np.where(data["gift"][begin:end], "t", "f"),
                    "subtotal": data["amount"][begin:end],
                    "discount": 0,
                    "total": data["amount"][begin:end],
                    "cost_total": data["cost"][begin:end],
                    "created_at": now,
                }
            )
            buffer = io.StringIO()
            frame.to_csv(buffer, sep="\t", header=False, index=False)
            buffer.seek(0)
            cursor.copy_expert(f"COPY seed_order ({names}) FROM STDIN", buffer)
            cursor.execute(f"INSERT INTO sales_order ({names}) SELECT {names} FROM seed_order")
            cursor.execute("TRUNCATE seed_order")
            print(f"  {end:,} orders", flush=True)
        for _name, definition in indexes:
            cursor.execute(definition)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sales_order")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--org", default="bench")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reload-orders", action="store_true")
    parser.add_argument(
        "--as-of", type=date.fromisoformat, default=AS_OF, help="the day scored (YYYY-MM-DD)"
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="delete the organization's score rows first, as before its first run",
    )
    parser.add_argument("--label", default="", help="suffix of the results file")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run it on PostgreSQL: set DATABASE_URL.")

    org = Organization.objects.filter(slug=args.org).first()
    customers = (
        _count("SELECT count(*) FROM customers_customer WHERE organization_id = %s", org)
        if org
        else 0
    )
    if customers < args.customers:
        print(f"seeding {args.customers:,} customers with bench/seed_customers.py", flush=True)
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "seed_customers.py"),
                "--org",
                args.org,
                "--customers",
                str(args.customers),
            ],
            check=True,
        )
        org = Organization.objects.get(slug=args.org)
    orders = _count("SELECT count(*) FROM sales_order WHERE organization_id = %s", org)
    load_seconds = None
    if args.reload_orders or orders < args.orders * 0.9:
        load_seconds = load_orders(org, args.orders, args.seed)
        orders = _count("SELECT count(*) FROM sales_order WHERE organization_id = %s", org)

    from analytics.models import AnalyticsRun, CustomerScore
    from analytics.pipeline import analytics_run

    connection.close()
    os.environ["DATABASE_APP_ROLE"] = os.environ.get("DATABASE_APP_ROLE", "clientele_app")
    from django.conf import settings

    settings.DATABASE_APP_ROLE = os.environ["DATABASE_APP_ROLE"]
    become_app_role(connection)
    with tenant_context(org):
        AnalyticsRun.objects.filter(as_of=args.as_of).delete()
        if args.fresh:
            with connection.cursor() as cursor:
                cursor.execute(
                    "DELETE FROM analytics_customerscore WHERE organization_id = %s", [org.pk]
                )
        scores_before = CustomerScore.objects.count()
    # Autovacuum clears the previous run's dead rows in the hours between two nightly runs;
    # back-to-back benchmark runs leave it no time, so vacuum here (not timed).
    become_owner(connection)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE analytics_customerscore")
        cursor.execute("VACUUM ANALYZE analytics_customerscoresnapshot")
    become_app_role(connection)
    load_before = os.getloadavg()
    started = time.perf_counter()
    run = analytics_run(org=org, as_of=args.as_of)
    wall = time.perf_counter() - started
    load_after = os.getloadavg()
    become_owner(connection)
    stages = run.stage_seconds
    compute = sum(
        v
        for k, v in stages.items()
        if k in {"rfm", "segmentation", "clv", "churn", "profitability"}
    )
    result = {
        "as_of": args.as_of.isoformat(),
        "fresh": args.fresh,
        "customers": customers,
        "orders": orders,
        "order_load_seconds": load_seconds,
        "end_to_end_seconds": round(wall, 1),
        "compute_seconds": round(compute, 1),
        "compute_with_summary_seconds": round(compute + stages.get("summary", 0), 1),
        "stage_seconds": stages,
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rows_read": run.rows_read,
        "customers_scored": run.metrics.get("customers_scored"),
        "score_rows_before": scores_before,
        "write": run.metrics.get("write"),
        "k": run.metrics.get("k"),
        "silhouette": run.metrics.get("silhouette"),
        "churn_model": run.metrics.get("churn", {}).get("model"),
        "churn_auc": {
            m: run.metrics.get("churn", {}).get(m, {}).get("auc") for m in ("logistic", "bgnbd")
        },
        "churn_brier": {
            m: run.metrics.get("churn", {}).get(m, {}).get("brier") for m in ("logistic", "bgnbd")
        },
        "bgnbd": run.metrics.get("bgnbd"),
        "gamma_gamma": run.metrics.get("gamma_gamma"),
        "dropped": run.dropped,
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": load_after,
    }
    suffix = f"_{args.label}" if args.label else ""
    out = ROOT / "bench" / "results" / f"analytics_{customers}{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
