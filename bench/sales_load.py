"""Load-test the sales pages on seed_demo's data: the kanban board with 2,000 open opportunities,
the opportunity and lead lists, and the order list of the customer with about 5,000 orders.

    # the data: a million customers and ten million orders (bench/seed_bench.py, ~10 minutes),
    # and a default-sized demo in a second database for the query counts
    .venv/bin/python bench/seed_bench.py --customers 1000000 --vacuum
    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE clientele_scale_small OWNER clientele_owner"
    DATABASE_URL=postgres://clientele_owner@127.0.0.1:5432/clientele_scale_small \
        DATABASE_APP_ROLE=clientele_app DEBUG=1 .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://clientele_owner@127.0.0.1:5432/clientele_scale_small \
        DATABASE_APP_ROLE=clientele_app DEBUG=1 .venv/bin/python manage.py seed_demo

    # each run: JSON in bench/results/sales-*.json, a Markdown table on stdout
    .venv/bin/python bench/sales_load.py

    # before/after on a shared machine: a second server from another checkout (here the last
    # commit), each scenario measured on both in turn, three rounds
    mkdir -p /tmp/clientele-head && git archive HEAD | tar -x -C /tmp/clientele-head
    ln -sfn "$PWD/.venv" /tmp/clientele-head/.venv
    .venv/bin/python bench/sales_load.py --compare /tmp/clientele-head --rounds 3

It reuses bench/customers_load.py's machinery: gunicorn (2 sync workers, persistent connections,
DEBUG off, the non-owner app role so that row-level security is in force) on a free port, a
session for the demo manager (manager@acme.example), wrk at 10 connections with a warm-up and a
measured run per scenario, paths rotating through realistic variants (filters, sorts, keyset
pages deep into the 5,000 orders). Then it counts the SQL queries of one request per scenario
with Django's test client, on the big database and on the small one: they must be equal.

Other work on the machine moves every figure by tens of percent from one minute to the next, so
two runs made minutes apart do not compare two versions. `--compare DIR` serves a second
checkout (same database, same settings) next to this one and measures each scenario on one, then
the other, round after round: the pairs share the machine's load. The table gives the median over
the rounds of each server's p50 and p95.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
from contextlib import contextmanager
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import customers_load
from customers_load import (  # bench/ is no package: its folder is on the path
    ROOT,
    SERVER_ENV,
    _configure,
    _free_port,
    machine,
    run_readers,
    run_wrk,
    start_gunicorn,
)

RESULTS = ROOT / "bench" / "results"
DEFAULT_DATABASE_URL = "postgres://clientele_owner@127.0.0.1:5432/clientele_scale"
DEFAULT_SMALL_DATABASE = "clientele_scale_small"
MANAGER = "manager@{slug}.example"
NEXT_LINK = re.compile(r'href="([^"]*[?&]after=[^"]*)"')


def _client(slug: str):
    from django.test import Client

    from tenancy.models import User

    client = Client()
    client.force_login(
        User.objects.get(email=MANAGER.format(slug=slug)),
        backend="django.contrib.auth.backends.ModelBackend",
    )
    client.get(f"/o/{slug}/")  # the first visit records the organization in the session
    return client


def session_cookie(slug: str) -> str:
    client = _client(slug)
    session = client.session
    session["last_org"] = slug  # so that no request of the run writes the session
    session.save()
    return client.cookies["sessionid"].value


def inputs(slug: str) -> dict:
    """The busiest customer (the order-list benchmark's), the reps, the default pipeline."""
    from django.db import connection

    from sales.models import Pipeline
    from tenancy.context import tenant_context
    from tenancy.models import Membership, Organization

    org = Organization.objects.get(slug=slug)
    with tenant_context(org):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT customer_id, count(*) FROM sales_order WHERE organization_id = %s "
                "GROUP BY customer_id ORDER BY count(*) DESC LIMIT 1",
                [org.pk],
            )
            customer, orders = cursor.fetchone()
            cursor.execute(
                "SELECT count(*) FROM sales_opportunity WHERE organization_id = %s "
                "AND closed_at IS NULL",
                [org.pk],
            )
            open_opportunities = cursor.fetchone()[0]
        reps = list(
            Membership.objects.filter(role__in=["manager", "sales"]).values_list(
                "user_id", flat=True
            )
        )
        pipeline = Pipeline.objects.get(is_default=True).pk
    return {
        "customer": customer,
        "customer_orders": orders,
        "open_opportunities": open_opportunities,
        "reps": reps,
        "pipeline": pipeline,
    }


def deep_pages(slug: str, first: str, pages: int) -> list[str]:
    """The first page and the next `pages` keyset pages, following the "next" links."""
    client = _client(slug)
    paths, path = [first], first
    for _ in range(pages):
        match = NEXT_LINK.search(client.get(path).content.decode())
        if not match:
            break
        link = unescape(match[1])
        path = link if link.startswith("/") else first.split("?")[0] + link
        paths.append(path)
    return paths


def scenarios(slug: str, data: dict, *, deep: int) -> dict[str, dict]:
    base = f"/o/{slug}/sales"
    reps = data["reps"]
    orders = f"{base}/customers/{data['customer']}/orders/"
    return {
        # What the machine gives any page right now (other processes share the cores): a
        # signed-in page with two small queries of its own.
        "baseline_pipeline_settings": {"paths": [f"{base}/pipelines/"]},
        "kanban_board": {
            "paths": [f"{base}/pipeline/"] + [f"{base}/pipeline/?owner={rep}" for rep in reps]
        },
        "opportunity_list": {
            "paths": [
                f"{base}/opportunities/",
                f"{base}/opportunities/?status=open",
                f"{base}/opportunities/?sort=-created",
                *[f"{base}/opportunities/?owner={rep}&status=open" for rep in reps],
            ]
        },
        "lead_list": {
            "paths": [
                f"{base}/leads/",
                f"{base}/leads/?status=new",
                f"{base}/leads/?status=qualified",
                *[f"{base}/leads/?owner={rep}" for rep in reps],
            ]
        },
        "customer_orders_5000": {"paths": deep_pages(slug, orders, deep)},
        "order_list_for_customer": {"paths": [f"{base}/orders/?customer={data['customer']}"]},
    }


def query_counts(slug: str, spec: dict[str, dict]) -> dict[str, int]:
    """SQL statements of one request per scenario (its first path), in this process."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client(slug)
    counts = {}
    for name, scenario in spec.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(scenario["paths"][0])
        if response.status_code != 200:
            raise SystemExit(f"{name}: {scenario['paths'][0]} answered {response.status_code}")
        counts[name] = len(queries)
    return counts


def use_database(name: str) -> None:
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name


@contextmanager
def served_from(root: Path):
    """start_gunicorn serves the checkout at customers_load.ROOT: point it at `root` meanwhile."""
    saved = customers_load.ROOT
    customers_load.ROOT = root
    try:
        yield
    finally:
        customers_load.ROOT = saved


def compared(rounds: list[dict]) -> dict[str, dict]:
    """Median over the rounds of each server's p50, p95 and req/s, per scenario."""
    table: dict[str, dict] = {}
    for name in rounds[0]:
        table[name] = {
            server: {
                key: statistics.median(r[name][server][key] for r in rounds)
                for key in ("p50_ms", "p95_ms", "p99_ms", "rps")
            }
            for server in rounds[0][name]
        }
    return table


def compare_markdown(table: dict[str, dict]) -> str:
    lines = [
        "| page | p50 ms (compare → this) | p95 ms (compare → this) | req/s (compare → this) |",
        "|---|---:|---:|---:|",
    ]
    for name, servers in table.items():
        old, new = servers["compare"], servers["this"]
        lines.append(
            f"| {name} | {old['p50_ms']:.0f} → {new['p50_ms']:.0f} "
            f"| {old['p95_ms']:.0f} → {new['p95_ms']:.0f} | {old['rps']:.0f} → {new['rps']:.0f} |"
        )
    return "\n".join(lines)


def markdown(result: dict) -> str:
    lines = [
        "| page | p50 ms | p95 ms | p99 ms | req/s | non-200 | 1 conn. p50 / p95 "
        "| 10 readers p50 / p95 | queries (1M) | queries (small) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, stats in result["scenarios"].items():
        single, think = stats.get("single"), stats.get("think")
        lines.append(
            f"| {name} | {stats['p50_ms']:.0f} | {stats['p95_ms']:.0f} | {stats['p99_ms']:.0f} "
            f"| {stats['rps']:.0f} | {stats['non_200']} "
            f"| {f'{single["p50_ms"]:.0f} / {single["p95_ms"]:.0f}' if single else ''} "
            f"| {f'{think["p50_ms"]:.0f} / {think["p95_ms"]:.0f}' if think else ''} "
            f"| {result['queries'].get(name, '')} | {result['queries_small'].get(name, '')} |"
        )
    return "\n".join(lines)


def _start(root: Path, workers: int) -> tuple[str, object]:
    port = _free_port()
    log = Path(tempfile.gettempdir()) / f"clientele-sales-bench-gunicorn-{port}.log"
    print(f"serving {root} on port {port} (log {log})", flush=True)
    return f"http://127.0.0.1:{port}", start_gunicorn(port, workers, log)


def _measure(url: str, cookie: str, paths: list[str], args) -> dict:
    common = {
        "url": url,
        "cookie": cookie,
        "paths": paths,
        "target": None,
        "connections": args.connections,
        "threads": args.threads,
    }
    if args.warmup:
        run_wrk(seconds=args.warmup, **common)
    stats = run_wrk(seconds=args.seconds, **common)
    stats["distinct_paths"] = len(set(paths))
    stats["load_average"] = os.getloadavg()
    if args.single_seconds:
        # One connection: the time one request takes, without queueing behind others.
        stats["single"] = run_wrk(
            seconds=args.single_seconds, **{**common, "connections": 1, "threads": 1}
        )
    if args.think_ms:
        # --connections people who each read a page for about --think-ms before the next one.
        stats["think"] = run_readers(
            url=url,
            cookie=cookie,
            paths=paths,
            target=None,
            users=args.connections,
            think_ms=args.think_ms,
            seconds=args.think_seconds,
        )
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--small-database", default=DEFAULT_SMALL_DATABASE, help="'' skips")
    parser.add_argument("--app-role", default="clientele_app")
    parser.add_argument("--org", default="acme")
    parser.add_argument("--seconds", type=int, default=25)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--single-seconds", type=int, default=0, help="then one connection for this long"
    )
    parser.add_argument(
        "--think-ms",
        type=int,
        default=0,
        help="then --connections readers pausing about this long between requests",
    )
    parser.add_argument("--think-seconds", type=int, default=30)
    parser.add_argument("--deep", type=int, default=30, help="keyset pages of the order list")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--compare", default="", help="another checkout to serve and measure too")
    parser.add_argument("--rounds", type=int, default=1, help="measurements of each scenario")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")

    _configure(args.database_url, args.app_role)
    data = inputs(args.org)
    spec = scenarios(args.org, data, deep=args.deep)
    if args.only:
        spec = {name: s for name, s in spec.items() if name in set(args.only.split(","))}
    cookie = session_cookie(args.org)
    result = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "data": {"organization": args.org, **data},
        "settings": {
            "gunicorn_workers": args.workers,
            "wrk_connections": args.connections,
            "wrk_threads": args.threads,
            "seconds": args.seconds,
            "warmup_seconds": args.warmup,
            "single_seconds": args.single_seconds,
            "think_ms": args.think_ms,
            "think_seconds": args.think_seconds,
            **{k: v for k, v in SERVER_ENV.items() if k != "SECRET_KEY"},
        },
        "load_average_before": os.getloadavg(),
        "scenarios": {},
    }
    servers = {"this": _start(ROOT, args.workers)}
    if args.compare:
        compare_root = Path(args.compare).resolve()
        with served_from(compare_root):
            servers["compare"] = _start(compare_root, args.workers)
        result["compare"] = {"root": str(compare_root), "rounds": []}
    try:
        for round_number in range(args.rounds):
            measured: dict[str, dict] = {}
            # Which server goes first alternates: neither always meets the warmer cache.
            order = list(servers) if round_number % 2 == 0 else list(reversed(servers))
            for name, scenario in spec.items():
                for server in order:
                    stats = _measure(servers[server][0], cookie, scenario["paths"], args)
                    measured.setdefault(name, {})[server] = stats
                    extra = "".join(
                        f"  | {kind}: p50 {stats[kind]['p50_ms']:5.1f} "
                        f"p95 {stats[kind]['p95_ms']:5.1f} ms"
                        for kind in ("single", "think")
                        if kind in stats
                    )
                    print(
                        f"{name:26} {server:8} p50 {stats['p50_ms']:6.1f}  "
                        f"p95 {stats['p95_ms']:6.1f}  p99 {stats['p99_ms']:6.1f} ms  "
                        f"{stats['rps']:6.1f} req/s  non-200 {stats['non_200']}  "
                        f"load {os.getloadavg()[0]:.1f}{extra}",
                        flush=True,
                    )
            if args.compare:
                result["compare"]["rounds"].append(measured)
            if round_number == args.rounds - 1:
                result["scenarios"] = {name: both["this"] for name, both in measured.items()}
    finally:
        for _url, process in servers.values():
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    result["load_average_after"] = os.getloadavg()
    result["queries"] = query_counts(args.org, spec)
    result["queries_small"] = {}
    if args.small_database:
        use_database(args.small_database)
        small = scenarios(args.org, inputs(args.org), deep=0)
        result["queries_small"] = query_counts(args.org, {n: small[n] for n in spec})
    if args.compare:
        result["compare"]["median"] = compared(result["compare"]["rounds"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"sales-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\n{markdown(result)}\n")
    if args.compare:
        print(f"{compare_markdown(result['compare']['median'])}\n")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
