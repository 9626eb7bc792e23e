"""Time `seed_demo --customers N` on PostgreSQL and record what it made.

    # once: a database of its own, migrated
    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE clientele_scale OWNER clientele_owner"
    DATABASE_URL=postgres://clientele_owner@127.0.0.1:5432/clientele_scale \
        DATABASE_APP_ROLE=clientele_app DEBUG=1 .venv/bin/python manage.py migrate

    # each run (about ten minutes for a million customers): JSON in bench/results/seed-*.json
    .venv/bin/python bench/seed_bench.py --customers 1000000

It runs `manage.py seed_demo --customers N --reset -v 2` as a user would (the app role set, the
command switching to the owner for COPY), echoes its output, keeps the time of each step and of
each table the bulk loader wrote, samples the machine's load average while it runs (other
processes share the two cores), then counts each demo organization's rows per table, and the
size of every table with its indexes (pg_total_relation_size) and of the database. With
--vacuum it also times VACUUM (ANALYZE) of the big tables, which the page benchmarks want
(visibility map, hint bits) and seed_demo leaves to autovacuum.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_DATABASE_URL = "postgres://clientele_owner@127.0.0.1:5432/clientele_scale"
ENV = {
    "DEBUG": "1",
    "SECRET_KEY": "clientele-bench-only-secret-key-0123456789abcdefghijklmnop",
    "LOG_LEVEL": "WARNING",
}
BIG_TABLES = [
    "customers_customer",
    "customers_contact",
    "customers_customertag",
    "customers_interaction",
    "sales_order",
    "sales_orderline",
]
STEP = re.compile(r"^  (\w+): ([\w.]+) \((\d+(?:\.\d+)?)s\)$")
LOADED = re.compile(r"^    (\w+): ([\d,]+) rows in (\d+(?:\.\d+)?)s$")
REBUILT = re.compile(r"^    ([\w, ]+): (indexes|rebuilt) in (\d+(?:\.\d+)?)s$")
DETAIL = re.compile(r"^    (index|check) (\w+) in (\d+(?:\.\d+)?)s$")
ANALYZED = re.compile(r"^  analyzed (\d+) tables \((\d+(?:\.\d+)?)s\)$")
SIMULATED = re.compile(r"^    simulated ([\d,]+) orders in (\d+(?:\.\d+)?)s$")
READY = re.compile(r"^Demo ready in (\d+(?:\.\d+)?)s\.$")


class LoadSampler(threading.Thread):
    """The 1-minute load average every few seconds while the seed runs."""

    def __init__(self, every: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.every, self.samples, self.stopped = every, [], threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            self.samples.append(os.getloadavg()[0])


def run_seed(args) -> dict:
    env = {**os.environ, **ENV, "DATABASE_URL": args.database_url}
    env["DATABASE_APP_ROLE"] = args.app_role
    command = [
        str(ROOT / ".venv" / "bin" / "python"),
        "manage.py",
        "seed_demo",
        "--customers",
        str(args.customers),
        "--seed",
        str(args.seed),
        "--reset",
        "-v",
        str(args.verbosity),
    ]
    steps, tables, rebuilds, simulated, details = [], [], [], [], []
    ready = analyzed = None
    sampler = LoadSampler()
    sampler.start()
    started = time.perf_counter()
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        for line in process.stdout:
            print(line, end="", flush=True)
            line = line.rstrip("\n")
            if match := STEP.match(line):
                steps.append({"org": match[1], "step": match[2], "seconds": float(match[3])})
            elif match := LOADED.match(line):
                tables.append(
                    {
                        "table": match[1],
                        "rows": int(match[2].replace(",", "")),
                        "seconds": float(match[3]),
                    }
                )
            elif match := REBUILT.match(line):
                rebuilds.append({"tables": match[1], "what": match[2], "seconds": float(match[3])})
            elif match := SIMULATED.match(line):
                simulated.append(
                    {"orders": int(match[1].replace(",", "")), "seconds": float(match[2])}
                )
            elif match := DETAIL.match(line):
                details.append({"what": match[1], "name": match[2], "seconds": float(match[3])})
            elif match := ANALYZED.match(line):
                analyzed = {"tables": int(match[1]), "seconds": float(match[2])}
            elif match := READY.match(line):
                ready = float(match[1])
    wall = time.perf_counter() - started
    sampler.stopped.set()
    if process.returncode:
        raise SystemExit(f"seed_demo failed with exit code {process.returncode}")
    samples = sampler.samples or [os.getloadavg()[0]]
    return {
        "command": " ".join(command[1:]),
        "wall_seconds": round(wall, 1),
        "seed_seconds": ready,
        "steps": steps,
        "tables_written": tables,
        "rebuilds": rebuilds,
        "simulated": simulated,
        "analyzed": analyzed,
        "indexes_and_checks": details,
        "load_average": {
            "mean": round(sum(samples) / len(samples), 2),
            "max": round(max(samples), 2),
            "samples": len(samples),
        },
    }


def _setup_django(database_url: str) -> None:
    os.environ.update(ENV)
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("DATABASE_APP_ROLE", None)  # the owner: sizes of every table
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def counts_and_sizes() -> dict:
    from django.apps import apps
    from django.db import connection

    from tenancy.context import tenant_context
    from tenancy.models import Organization, TenantModel

    existing = set(connection.introspection.table_names())
    tables = sorted(
        m._meta.db_table
        for m in apps.get_models()
        if issubclass(m, TenantModel) and m._meta.db_table in existing
    )
    counts = {}
    for org in Organization.objects.filter(slug__in=["acme", "globex"]).order_by("slug"):
        with tenant_context(org), connection.cursor() as cursor:
            counts[org.slug] = {}
            for table in tables:
                cursor.execute(f'SELECT count(*) FROM "{table}"')
                rows = cursor.fetchone()[0]
                if rows:
                    counts[org.slug][table] = rows
    sizes = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                "SELECT pg_total_relation_size(%s::regclass), pg_relation_size(%s::regclass), "
                "pg_indexes_size(%s::regclass)",
                [table, table, table],
            )
            total, heap, indexes = cursor.fetchone()
            if total > 64 * 1024:
                sizes[table] = {
                    "total_mb": round(total / 2**20),
                    "table_mb": round(heap / 2**20),
                    "indexes_mb": round(indexes / 2**20),
                }
        cursor.execute("SELECT pg_database_size(current_database())")
        database_mb = round(cursor.fetchone()[0] / 2**20)
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        settings = {}
        for name in ("shared_buffers", "max_wal_size", "maintenance_work_mem", "work_mem"):
            cursor.execute(f"SHOW {name}")
            settings[name] = cursor.fetchone()[0]
    return {
        "counts": counts,
        "sizes": sizes,
        "database_mb": database_mb,
        "postgresql": version,
        "postgresql_settings": settings,
    }


def vacuum() -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for table in BIG_TABLES:
            cursor.execute(f'VACUUM (ANALYZE) "{table}"')
    return round(time.perf_counter() - started, 1)


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
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--app-role", default="clientele_app")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--vacuum", action="store_true", help="then time VACUUM (ANALYZE)")
    parser.add_argument("--verbosity", type=int, default=2, help="3: each index and check")
    args = parser.parse_args()

    result = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_before": os.getloadavg(),
        "customers": args.customers,
        "seed": run_seed(args),
    }
    _setup_django(args.database_url)
    if args.vacuum:
        result["vacuum_analyze_seconds"] = vacuum()
    result.update(counts_and_sizes())
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"seed-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    seed = result["seed"]
    acme = result["counts"].get("acme", {})
    print(
        f"\nseed_demo --customers {args.customers:,}: {seed['wall_seconds']:.0f} s wall "
        f"(load average {seed['load_average']['mean']} on {os.cpu_count()} cores), "
        f"{acme.get('customers_customer', 0):,} customers and "
        f"{acme.get('sales_order', 0):,} orders in acme, database {result['database_mb']:,} MB"
        f"\nwritten to {out.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
