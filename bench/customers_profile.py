"""Where a customer page's time goes, in process: SQL against rendering, the slowest queries and
the busiest Python functions, for the scenarios of bench/customers_load.py.

    .venv/bin/python bench/customers_profile.py                      # every scenario, acme
    .venv/bin/python bench/customers_profile.py --only customer_360 --top 25 --explain

Each scenario's paths are requested with Django's test client (as the organization's manager,
as the non-owner app role: row-level security in force, DEBUG off), once to warm up, then
`--repeat` times measured: wall time, the time of the SQL statements, the rest (Python: views,
templates), and with --top N the N functions with the most own time under cProfile. --explain
runs EXPLAIN (ANALYZE, BUFFERS) of the page's slowest statement as the app role with the
tenant set, as a request would.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from customers_load import (  # bench/ is no package: its folder is on the path
    DEFAULT_DATABASE_URL,
    _configure,
    _inputs,
    manager,
    scenarios,
)


def _explain(sql: str, org_id: int) -> str:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(org_id)])
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def profile(
    slug: str,
    spec: dict,
    *,
    repeat: int,
    top: int,
    explain: bool,
    callers: str = "",
    sort: str = "tottime",
) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tenancy.models import Organization

    org = Organization.objects.get(slug=slug)
    client = Client()
    client.force_login(manager(slug), backend="django.contrib.auth.backends.ModelBackend")
    client.get(f"/o/{slug}/")
    client.get(f"/o/{slug}/search/", {"q": "warm up"})
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'scenario':28} {'wall ms':>8} {'SQL ms':>7} {'rest ms':>8} {'queries':>7} {'KB':>5}")
    for name, scenario in spec.items():
        headers = (
            {"HX-Request": "true", "HX-Target": scenario["htmx_target"]}
            if scenario.get("htmx_target")
            else {}
        )
        paths = list(dict.fromkeys(scenario["paths"]))
        client.get(paths[0], headers=headers)
        walls, sqls, sizes, slowest = [], [], [], (0.0, "")
        profiler = cProfile.Profile() if top else None
        for n in range(repeat):
            path = paths[n % len(paths)]
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                if profiler:
                    profiler.enable()
                response = client.get(path, headers=headers)
                if profiler:
                    profiler.disable()
                walls.append((time.perf_counter() - started) * 1000)
            sqls.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
            sizes.append(len(response.content))
            for query in queries.captured_queries:
                if float(query["time"]) * 1000 > slowest[0]:
                    slowest = (float(query["time"]) * 1000, query["sql"])
            count = len(queries)
        wall, sql = statistics.median(walls), statistics.median(sqls)
        print(
            f"{name:28} {wall:8.1f} {sql:7.1f} {wall - sql:8.1f} {count:7d} "
            f"{statistics.median(sizes) / 1024:5.0f}"
        )
        print(f"    slowest statement {slowest[0]:.1f} ms: {slowest[1][:300]}")
        if explain and slowest[1]:
            print("    " + _explain(slowest[1], org.pk).replace("\n", "\n    "))
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(top)
            print("\n".join("    " + line for line in out.getvalue().splitlines()[6:]))
            if callers:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_callers(callers)
                print("\n".join("    " + line for line in out.getvalue().splitlines()[6:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--app-role", default="clientele_app")
    parser.add_argument("--org", default="acme")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--top", type=int, default=0, help="cProfile's N busiest functions")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--callers", default="", help="with --top: callers of matching functions")
    parser.add_argument(
        "--sort", default="tottime", help="with --top: tottime (own time) or cumulative"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    _configure(args.database_url, args.app_role)
    rng = random.Random(args.seed)
    spec = scenarios(args.org, _inputs(args.org, rng), rng)
    if args.only:
        spec = {name: s for name, s in spec.items() if name in set(args.only.split(","))}
    profile(
        args.org,
        spec,
        repeat=args.repeat,
        top=args.top,
        explain=args.explain,
        callers=args.callers,
        sort=args.sort,
    )


if __name__ == "__main__":
    main()
