"""Load-test the customer pages and global search at a million customers.

    # the data: seed_demo's million-customer acme (and its 10,000-customer globex), see
    # docs/performance.md "Seeding a million customers"; bench/seed_customers.py's `bench`
    # organization (--org bench --small-org bench-1k) works too
    .venv/bin/python bench/seed_bench.py --customers 1000000 --vacuum

    # each run: JSON in bench/results/, a Markdown table on stdout
    .venv/bin/python bench/customers_load.py                                  # 10 connections
    .venv/bin/python bench/customers_load.py --connections 1 --single-seconds 0 --think-ms 0
    # the query counts against a default-sized demo in another database instead of globex
    .venv/bin/python bench/customers_load.py --small-database clientele_cust_small --small-org acme

It starts gunicorn (2 sync workers, persistent connections, DEBUG off, as the non-owner app role
so that row-level security is in force) on a free loopback port, signs in the organization's
manager (manager@<org>.example, or manager@<org>.bench.example for seed_customers.py's data) by
creating a session, and runs `wrk` (10 connections, one thread) against each scenario: a short
warm-up, then the measured run. Each scenario's paths rotate through realistic inputs (search
terms taken from the data, existing customer ids, keyset cursors far down the list). A trivial
signed-in page (the pipeline settings, as in bench/sales_load.py) is measured in the same run as
the floor the machine gives any page. Then it counts the SQL queries of one request per
scenario with Django's test client, in this process, for the big organization and for a small
one (another organization of the same database, or of --small-database): they must be equal.

The load generator and the server share the machine's cores; compare figures from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_DATABASE_URL = "postgres://clientele_owner@127.0.0.1:5432/clientele_scale"
MANAGER_EMAILS = ("manager@{slug}.example", "manager@{slug}.bench.example")
SERVER_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "clientele-bench-only-secret-key-0123456789abcdefghijklmnop",
    "ALLOWED_HOSTS": "127.0.0.1,testserver",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "SECURE_HSTS_SECONDS": "0",
    "STATIC_MANIFEST": "0",
    "CONN_MAX_AGE": "60",
    "LOG_LEVEL": "WARNING",
    "GUNICORN_LOG_LEVEL": "warning",
}


def _configure(database_url: str, app_role: str) -> None:
    os.environ.update(SERVER_ENV)
    os.environ["DATABASE_URL"] = database_url
    os.environ["DATABASE_APP_ROLE"] = app_role
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- Inputs taken from the data -----------------------------------------------------------


def manager(org_slug: str):
    """The organization's manager: seed_demo's (manager@acme.example) or seed_customers.py's."""
    from tenancy.models import User

    emails = [pattern.format(slug=org_slug) for pattern in MANAGER_EMAILS]
    user = User.objects.filter(email__in=emails).order_by("email").first()
    if user is None:
        raise SystemExit(f"no manager for {org_slug}: none of {', '.join(emails)}")
    return user


def _session_cookie(org_slug: str) -> str:
    from django.test import Client

    user = manager(org_slug)
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session["last_org"] = org_slug  # so that no request of the run writes the session
    session.save()
    return client.cookies["sessionid"].value


def _inputs(org_slug: str, rng: random.Random) -> dict:
    """Customer ids, owners, search terms and deep cursors of the organization."""
    from django.db import connection

    from crm_site.pagination import encode_cursor
    from customers.models import Customer
    from customers.selectors import customer_base
    from tenancy.context import tenant_context
    from tenancy.models import Membership, Organization

    org = Organization.objects.get(slug=org_slug)
    with tenant_context(org):
        with connection.cursor() as cursor:
            # A random 0.1% sample of the table, cheaply (TABLESAMPLE reads random pages), the
            # same pages for the same --seed: runs to compare search the same terms.
            cursor.execute(
                "SELECT id, name, email, phone_normalized FROM customers_customer "
                "TABLESAMPLE SYSTEM (1) REPEATABLE (%s) WHERE merged_into_id IS NULL "
                "ORDER BY md5(id::text) LIMIT 2000",  # a stable order, not by age
                [rng.randrange(2**31)],
            )
            sample = cursor.fetchall()
            if len(sample) < 200:  # a small organization: take them all
                cursor.execute(
                    "SELECT id, name, email, phone_normalized FROM customers_customer "
                    "WHERE merged_into_id IS NULL"
                )
                sample = cursor.fetchall()
        rng.shuffle(sample)
        owners = list(
            Membership.objects.filter(role__in=["manager", "sales"]).values_list(
                "user_id", flat=True
            )
        )
        live = customer_base(org=org).order_by("-created_at", "-id")
        total = live.count()
        cursors = []
        for depth in (10_000, 50_000, 250_000, 900_000):  # page 200, 1,000, 5,000, 18,000
            if depth < total:
                created_at, pk = live.values_list("created_at", "id")[depth]
                cursors.append(encode_cursor([created_at, pk]))
        if not cursors:
            created_at, pk = live.values_list("created_at", "id")[total // 2]
            cursors.append(encode_cursor([created_at, pk]))
        cursors = [{"after": c} for c in cursors]
        # Deep in the lifetime-value order too: a decimal key, NULLs (not scored) last.
        by_clv = live.filter(scores__clv__isnull=False).order_by("-scores__clv", "-id")
        scored = by_clv.count()
        for depth in (10_000, scored // 2):
            if 0 <= depth < scored:
                clv, pk = by_clv.values_list("scores__clv", "id")[depth]
                cursors.append({"sort": "-clv", "after": encode_cursor([clv, pk])})
        tags = list(org_tags(org))
    names, emails, phones, shorts = [], [], [], []
    for _pk, name, email, phone in sample[:300]:
        words = [w for w in re.split(r"\W+", name) if len(w) >= 4]
        if words:
            word = rng.choice(words)
            names.append(word.lower() if rng.random() < 0.7 else word[: rng.randint(3, len(word))])
            shorts.append(word[:2].lower())
        if email:
            local = email.split("@")[0]
            emails.append(local[: max(4, len(local) - rng.randint(0, 4))])
        if phone:
            phones.append(phone[-rng.randint(6, 8) :])  # six digits or more: a phone search
    return {
        "org": org,
        "total": total,
        "ids": [row[0] for row in sample[:500]],
        "owners": owners,
        "cursors": cursors,
        "names": names,
        "emails": emails,
        "phones": phones,
        "shorts": shorts,
        "tags": tags,
        "customer_model": Customer,
    }


def org_tags(org):
    from customers.models import Tag

    return Tag.objects.values_list("pk", flat=True)


def scenarios(slug: str, inputs: dict, rng: random.Random) -> dict[str, dict]:
    """Scenario name -> {"paths": [...], "htmx_target": str | None}."""
    base = f"/o/{slug}/customers/"

    def with_query(**params) -> str:
        return f"{base}?{urlencode(params)}"

    search = f"/o/{slug}/search/"
    terms = inputs["names"][:60] + inputs["emails"][:40] + inputs["phones"][:40]
    rng.shuffle(terms)
    stages = ["prospect", "active", "at_risk", "churned"]
    return {
        # What the machine gives any page right now (other processes share the cores): a
        # signed-in page with two small queries of its own (the sales benchmark's baseline).
        "baseline_pipeline_settings": {"paths": [f"/o/{slug}/sales/pipelines/"]},
        # The floor of every signed-in page: the app shell around an empty search page.
        "shell_only": {"paths": [search]},
        "list_default": {"paths": [base]},
        "list_filtered_stage_owner": {
            "paths": [
                with_query(lifecycle_stage=stage, owner=owner)
                for stage in stages
                for owner in inputs["owners"]
            ]
        },
        "list_sorted": {
            "paths": [with_query(sort=key) for key in ("name", "-name", "-updated", "-clv")]
        },
        "list_search_name": {"paths": [with_query(q=t) for t in inputs["names"][:100]]},
        "list_search_email": {"paths": [with_query(q=t) for t in inputs["emails"][:100]]},
        "list_search_phone": {"paths": [with_query(q=t) for t in inputs["phones"][:100]]},
        "list_deep_page": {"paths": [with_query(**c) for c in inputs["cursors"]]},
        "list_tag": {"paths": [with_query(tag=t) for t in inputs["tags"]]},
        "customer_360": {"paths": [f"{base}{pk}/" for pk in inputs["ids"]]},
        "global_search_page": {"paths": [f"{search}?{urlencode({'q': t})}" for t in terms]},
        "global_search_dropdown": {
            "paths": [f"{search}?{urlencode({'q': t})}" for t in terms + inputs["shorts"][:20]],
            "htmx_target": "global-search-results",
        },
        # Last: in seed_demo's data no customer has a contract tier, so this filter walks all
        # of the organization's rows (no index serves a custom field); its requests outlast
        # wrk's timeout and would hold the workers into the next scenario.
        "list_custom_field": {
            "paths": [with_query(cf_contract_tier=t) for t in ("Bronze", "Silver", "Gold")]
        },
    }


# --- The server and the load --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int, workers: int, log: Path, count_cap: int = 0) -> subprocess.Popen:
    env = os.environ.copy()
    if count_cap:
        env["BENCH_COUNT_CAP"] = str(count_cap)
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "bench.wsgi_count_cap" if count_cap else "crm_site.wsgi",
        "-c",
        str(ROOT / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--access-logfile",
        "/dev/null",
        "--max-requests",
        "0",  # no worker recycling in the middle of a measurement
    ]
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    # Ready when a worker answers (the port opens before the workers have loaded Django).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit(f"gunicorn did not start; see {log}")


def run_wrk(
    *,
    url: str,
    cookie: str,
    paths: list[str],
    target: str | None,
    seconds: int,
    connections: int,
    threads: int,
) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(paths) + "\n")
        paths_file = handle.name
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(ROOT / "bench" / "paths.lua"),
        "-H",
        f"Cookie: sessionid={cookie}",
        url,
        "--",
        paths_file,
        *([target] if target else []),
    ]
    try:
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(paths_file)
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def drain(port: int, *, quiet_ms: float = 1000, limit_s: float = 120) -> float:
    """Wait until the server answers /healthz quickly again: requests that outlived wrk's
    timeout keep the workers busy (up to gunicorn's timeout) and would slow the next scenario.
    Returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        began = time.perf_counter()
        try:
            with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=limit_s) as response:
                response.read()
        except OSError:
            time.sleep(1)
            continue
        if (time.perf_counter() - began) * 1000 < quiet_ms:
            break
    return round(time.monotonic() - started, 1)


def run_readers(
    *,
    url: str,
    cookie: str,
    paths: list[str],
    target: str | None,
    users: int,
    think_ms: int,
    seconds: int,
) -> dict:
    """`users` threads, each requesting a random path, then pausing 0.5 to 1.5 x `think_ms`.

    wrk's delay() is not used: with gunicorn's sync workers closing every connection, wrk
    counted part of the pause into some latencies (a p90 of 465 ms for a 7 ms page).
    """
    import http.client
    import statistics
    import threading
    from urllib.parse import urlsplit

    host = urlsplit(url)
    headers = {"Cookie": f"sessionid={cookie}"}
    if target:
        headers.update({"HX-Request": "true", "HX-Target": target})
    latencies: list[float] = []
    bad = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def user(seed: int) -> None:
        rng = random.Random(seed)
        time.sleep(rng.uniform(0, think_ms / 1000))  # do not start in step
        while time.monotonic() < stop:
            connection = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
            started = time.perf_counter()
            connection.request("GET", rng.choice(paths), headers=headers)
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            connection.close()
            with lock:
                latencies.append(elapsed)
                bad[0] += response.status != 200
            time.sleep(rng.uniform(0.5, 1.5) * think_ms / 1000)

    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "requests": len(latencies),
        "seconds": seconds,
        "rps": round(len(latencies) / seconds, 1),
        "non_200": bad[0],
        "p50_ms": round(cuts[49], 1),
        "p90_ms": round(cuts[89], 1),
        "p95_ms": round(cuts[94], 1),
        "p99_ms": round(cuts[98], 1),
        "max_ms": round(max(latencies), 1),
    }


# --- Query counts -------------------------------------------------------------------------


def query_counts(slug: str, cookie_slug: str, spec: dict[str, dict]) -> dict[str, dict]:
    """Per scenario, in this process with Django's test client: the SQL statements of each of
    its first paths (they must not vary), and the time a request takes in Python (CPU time of
    this process, which other processes on the machine barely affect) and in SQL."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    user = manager(cookie_slug)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    client.get(f"/o/{slug}/")  # the first visit records the organization in the session
    # ... and the first search checks, once per process, which search strategy the database
    # allows (crm_site.search.text_search_indexes_usable): not part of any page's cost.
    client.get(f"/o/{slug}/search/", {"q": "warm up"})
    measured = {}
    for name, scenario in spec.items():
        headers = (
            {"HX-Request": "true", "HX-Target": scenario["htmx_target"]}
            if scenario.get("htmx_target")
            else {}
        )
        paths = list(dict.fromkeys(scenario["paths"]))[:10]
        client.get(paths[0], headers=headers)  # warm: templates, connection
        counts, cpu, sql = [], 0.0, 0.0
        for path in paths:
            started = time.process_time()
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path, headers=headers)
            cpu += time.process_time() - started
            sql += sum(float(q["time"]) for q in queries.captured_queries)
            if response.status_code != 200:
                raise SystemExit(f"{name}: {path} answered {response.status_code}")
            counts.append(len(queries))
        measured[name] = {
            "queries": counts[0],
            "queries_min_max": [min(counts), max(counts)],
            "python_cpu_ms": round(cpu / len(paths) * 1000, 1),
            "sql_ms": round(sql / len(paths) * 1000, 1),
        }
    return measured


def use_database(name: str) -> None:
    """Point this process's connection at another database of the same server."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name


def data_sizes() -> dict:
    from django.db import connection

    sizes = {}
    with connection.cursor() as cursor:
        for table in [
            "customers_customer",
            "customers_contact",
            "customers_interaction",
            "customers_customertag",
        ]:
            cursor.execute(
                "SELECT reltuples::bigint, pg_table_size(oid), pg_indexes_size(oid) "
                "FROM pg_class WHERE relname = %s",
                [table],
            )
            rows, table_bytes, index_bytes = cursor.fetchone()
            sizes[table] = {
                "rows_estimate": rows,
                "table_mb": round(table_bytes / 2**20),
                "indexes_mb": round(index_bytes / 2**20),
            }
        cursor.execute("SHOW server_version")
        sizes["postgresql"] = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        sizes["shared_buffers"] = cursor.fetchone()[0]
        # tenancy/sql/leakproof.sql applied or not (docs/performance.md)
        cursor.execute(
            "SELECT bool_and(proleakproof) FROM pg_proc "
            "WHERE oid IN ('texticlike(text,text)'::regprocedure, "
            "'numeric_lt(numeric,numeric)'::regprocedure)"
        )
        sizes["leakproof_marked"] = cursor.fetchone()[0]
    return sizes


PREWARM_TABLES = [
    "customers_customer",
    "customers_customertag",
    "customers_tag",
    "customers_contact",
    "customers_interaction",
    "analytics_customerscore",
]


def prewarm() -> dict:
    """Read the customer tables and their indexes into the OS cache with pg_prewarm ('read'),
    when a superuser has created the extension (CREATE EXTENSION pg_prewarm): this machine's
    kernel gives back cold file pages even with memory free, and a scenario's first reads of an
    index then come from disk, which measures the disk, not the page. Returns MB read per table
    (indexes included), or why nothing was read."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_prewarm'")
        if cursor.fetchone() is None:
            return {"skipped": "no pg_prewarm extension in this database"}
        read = {}
        for table in PREWARM_TABLES:
            cursor.execute(
                "SELECT coalesce(sum(pg_prewarm(c.oid, 'read')), 0) FROM pg_class c "
                "WHERE c.oid = %s::regclass OR c.oid IN ("
                "  SELECT indexrelid FROM pg_index WHERE indrelid = %s::regclass)",
                [table, table],
            )
            read[table] = round(cursor.fetchone()[0] * 8 / 1024)
    return read


def machine() -> dict:
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = match[1] if match else ""
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "python": platform.python_version(),
        "wrk": shutil.which("wrk") or "",
    }


def _queries(measured: dict, name: str) -> str:
    if name not in measured:
        return ""
    low, high = measured[name]["queries_min_max"]
    return str(low) if low == high else f"{low}–{high}"


def _cpu(measured: dict, name: str) -> str:
    if name not in measured:
        return ""
    return f"{measured[name]['python_cpu_ms']:.0f} / {measured[name]['sql_ms']:.0f}"


def markdown(result: dict) -> str:
    lines = [
        "| scenario | p50 ms | p95 ms | p99 ms | req/s | 1 conn p50 / p95 ms "
        "| 10 readers p50 / p95 ms | non-200 | queries (1M) | queries (small) "
        "| Python CPU / SQL ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, stats in result["scenarios"].items():
        single = stats.get("single")
        one = f"{single['p50_ms']:.0f} / {single['p95_ms']:.0f}" if single else ""
        think = stats.get("think")
        readers = f"{think['p50_ms']:.0f} / {think['p95_ms']:.0f}" if think else ""
        lines.append(
            f"| {name} | {stats['p50_ms']:.0f} | {stats['p95_ms']:.0f} | {stats['p99_ms']:.0f} "
            f"| {stats['rps']:.0f} "
            f"| {one} | {readers} "
            f"| {stats['non_200'] + (think['non_200'] if think else 0)} "
            f"| {_queries(result['queries'], name)} | {_queries(result['queries_small'], name)} "
            f"| {_cpu(result['queries'], name)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--app-role", default="clientele_app")
    parser.add_argument("--org", default="acme")
    parser.add_argument("--small-org", default="globex", help="for the query counts; '' skips")
    parser.add_argument(
        "--small-database",
        default="",
        help="the small organization's database (default: the same as --database-url)",
    )
    parser.add_argument("--seconds", type=int, default=25)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument(
        "--single-seconds", type=int, default=10, help="then one connection for this long; 0 skips"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--think-ms",
        type=int,
        default=1000,
        help="then --connections readers pausing about this long between requests; 0 skips",
    )
    parser.add_argument("--think-seconds", type=int, default=30)
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument(
        "--count-cap", type=int, default=0, help="serve with this COUNT_CAP (default: the app's)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--prewarm",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="read the customer tables into the OS cache first (pg_prewarm, if created)",
    )
    parser.add_argument("--label", default="", help="added to the result file's name")
    args = parser.parse_args()
    # SIGTERM (timeout, kill) exits through the finally blocks, which stop gunicorn.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")

    _configure(args.database_url, args.app_role)
    rng = random.Random(args.seed)
    inputs = _inputs(args.org, rng)
    spec = scenarios(args.org, inputs, rng)
    if args.only:
        wanted = set(args.only.split(","))
        spec = {name: s for name, s in spec.items() if name in wanted}
    cookie = _session_cookie(args.org)
    warmed = prewarm() if args.prewarm else {"skipped": "--no-prewarm"}

    result = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "label": args.label,
        "machine": machine(),
        "data": {
            "database": args.database_url.rsplit("/", 1)[-1],
            "organization": args.org,
            "live_customers": inputs["total"],
            "small": {"database": args.small_database or "(same)", "organization": args.small_org},
            **data_sizes(),
        },
        "settings": {
            "gunicorn_workers": args.workers,
            "wrk_connections": args.connections,
            "wrk_threads": args.threads,
            "seconds": args.seconds,
            "warmup_seconds": args.warmup,
            "count_cap": args.count_cap or "default",
            "think_ms": args.think_ms,
            "think_seconds": args.think_seconds,
            **{k: v for k, v in SERVER_ENV.items() if k != "SECRET_KEY"},
        },
        "prewarm_mb": warmed,
        "load_average_before": os.getloadavg(),
        "scenarios": {},
    }
    port = _free_port()
    log = Path(tempfile.gettempdir()) / f"clientele-bench-gunicorn-{port}.log"
    server = start_gunicorn(port, args.workers, log, args.count_cap)
    try:
        url = f"http://127.0.0.1:{port}"
        for name, scenario in spec.items():
            common = {
                "url": url,
                "cookie": cookie,
                "paths": scenario["paths"],
                "target": scenario.get("htmx_target"),
                "connections": args.connections,
                "threads": args.threads,
            }
            if args.warmup:
                run_wrk(seconds=args.warmup, **common)
            stats = run_wrk(seconds=args.seconds, **common)
            stats["distinct_paths"] = len(set(scenario["paths"]))
            stats["load_average"] = os.getloadavg()
            stats["drained_s"] = drain(port)
            if args.single_seconds:
                # One connection: the time one request takes, without queueing behind others.
                single = run_wrk(
                    seconds=args.single_seconds, **{**common, "connections": 1, "threads": 1}
                )
                stats["single"] = single
            if args.think_ms:
                # Ten people who each read a page for about a second before the next request.
                stats["think"] = run_readers(
                    url=url,
                    cookie=cookie,
                    paths=scenario["paths"],
                    target=scenario.get("htmx_target"),
                    users=args.connections,
                    think_ms=args.think_ms,
                    seconds=args.think_seconds,
                )
            stats["drained_after_s"] = drain(port)
            result["scenarios"][name] = stats
            print(
                f"{name:26} p50 {stats['p50_ms']:6.1f}  p95 {stats['p95_ms']:6.1f}  "
                f"p99 {stats['p99_ms']:6.1f} ms  {stats['rps']:6.1f} req/s  "
                f"non-200 {stats['non_200']}  errors/timeouts {stats['socket_errors']}  "
                f"load {stats['load_average'][0]:.1f}"
                + (
                    f"  | 1 conn: p50 {stats['single']['p50_ms']:5.1f} "
                    f"p95 {stats['single']['p95_ms']:5.1f} ms"
                    if args.single_seconds
                    else ""
                )
                + (
                    f"  | think: p50 {stats['think']['p50_ms']:5.1f} "
                    f"p95 {stats['think']['p95_ms']:5.1f} ms"
                    if args.think_ms
                    else ""
                ),
                flush=True,
            )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    result["load_average_after"] = os.getloadavg()
    if args.count_cap:  # the in-process measurements below use the same cap as the server
        from crm_site import pagination

        pagination.COUNT_CAP = args.count_cap
    result["queries"] = query_counts(args.org, args.org, spec)
    result["queries_small"] = {}
    if args.small_org:
        if args.small_database:
            use_database(args.small_database)
        small_inputs = _inputs(args.small_org, random.Random(args.seed))
        small_spec = scenarios(args.small_org, small_inputs, random.Random(args.seed))
        small_spec = {name: s for name, s in small_spec.items() if name in spec}
        result["queries_small"] = query_counts(args.small_org, args.small_org, small_spec)
    RESULTS.mkdir(parents=True, exist_ok=True)
    label = f"-{args.label}" if args.label else ""
    out = RESULTS / f"customers{label}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\n{markdown(result)}\n\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
