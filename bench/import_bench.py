"""Benchmark of customer imports: a 100,000-row CSV with duplicates and bad rows, then undo.

    DATABASE_URL=postgres://clientele_owner@127.0.0.1:5432/clientele_dev \
    DATABASE_APP_ROLE=clientele_app .venv/bin/python bench/import_bench.py --rows 100000

(or with a migrated SQLite file: DATABASE_URL=sqlite:////tmp/bench.sqlite3). It creates a
throwaway organization with an admin and `--existing` customers, writes a CSV in which about 5%
of the rows are duplicates (of earlier rows of the file and of existing customers, by email,
phone or name) and about 2% are bad (invalid email, unknown stage, no name), and runs the same
services the views and the Celery task call: import_batch_create (check and count),
import_batch_map, import_run, import_undo. With DATABASE_APP_ROLE the app role works under
row-level security, as in production. The organization is deleted at the end unless --keep.

It prints the wall time and the Python (CPU) time of each step: on a busy machine the rest is
the database. Undo deletes the imported customers, and PostgreSQL checks every foreign key to
customers for each deleted row, at commit. The keys are (organization_id, customer_id), so each
check is a probe of the referencing table's (organization_id, customer_id, ...) index; with keys
on customer_id alone each check scanned the table (tenancy/foreign_keys.py; docs/performance.md,
"Imports").
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings")
os.environ.setdefault("SECRET_KEY", "clientele-bench-only-secret-key-0123456789abcdefghijklmnop")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="clientele-import-bench-"))

import django  # noqa: E402

django.setup()

from django.core.files import File  # noqa: E402
from django.db import connection  # noqa: E402

from customers import import_selectors, imports  # noqa: E402
from customers.models import Customer, ImportBatch  # noqa: E402
from tenancy.context import tenant_context  # noqa: E402
from tenancy.models import Membership, Organization, User  # noqa: E402
from tenancy.permissions import Role  # noqa: E402

FIRST = ["Wei", "Anna", "Li", "James", "Maria", "Chen", "Olga", "Ahmed", "Yuki", "Lucas", "Fatima"]
LAST = ["Zhang", "Smith", "Wang", "Meyer", "Garcia", "Liu", "Ivanova", "Khan", "Sato", "Silva"]
COMPANY = ["Trading", "Systems", "Logistics", "Foods", "Labs", "Partners", "Studio", "Works"]
CITIES = ["Shanghai", "Berlin", "Lyon", "Austin", "Osaka", "Lima", "Cairo", "Oslo", "Pune"]
STAGES = ["prospect", "Active", "at risk", "Churned", "活跃"]
HEADER = ["Name", "Email", "Phone", "City", "Country", "Stage", "Tags", "Credit limit", "Owner"]


def make_org(existing: int, owner_email: str) -> tuple[Organization, User, User]:
    stamp = f"{int(time.time())}-{random.randrange(10**6)}"
    org = Organization.objects.create(name=f"Import bench {stamp}", slug=f"import-bench-{stamp}")
    admin = User.objects.create_user(f"bench-{stamp}@example.com", None, full_name="Bench Admin")
    with tenant_context(org):
        Membership.objects.create(organization=org, user=admin, role=Role.ADMIN)
        owner = User.objects.create_user(owner_email.replace("@", f"+{stamp}@"), None)
        Membership.objects.create(organization=org, user=owner, role=Role.SALES)
        Customer.objects.bulk_create(
            [
                Customer(
                    organization=org,
                    name=f"Existing Company {n}",
                    email=f"existing{n}@example.com",
                    phone=f"+1 555 {n:07d}",
                    phone_normalized=f"1555{n:07d}",
                )
                for n in range(existing)
            ],
            batch_size=5000,
        )
    return org, admin, owner


def write_csv(path: Path, *, rows: int, existing: int, dup_rate: float, bad_rate: float, owner):
    rng = random.Random(42)
    written: list[list[str]] = []
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for n in range(rows):
            roll = rng.random()
            if roll < dup_rate and (written or existing):
                kind = rng.random()
                if existing and kind < 0.4:  # matches an existing customer
                    e = rng.randrange(existing)
                    row = [
                        f"Existing Company {e}",
                        f"EXISTING{e}@example.com",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                    ]
                    if kind < 0.2:
                        row = [
                            f"Existing Co {e}",
                            "",
                            f"001 555 {e:07d}",
                            "Oslo",
                            "",
                            "",
                            "",
                            "",
                            "",
                        ]
                elif written:  # repeats an earlier row of the file
                    row = list(rng.choice(written))
                    row[3] = rng.choice(CITIES)
                else:
                    row = None
                if row is not None:
                    writer.writerow(row)
                    continue
            if roll > 1 - bad_rate:
                problem = rng.randrange(3)
                bad = [f"Bad Row {n}", f"bad{n}@example.com", "", "", "", "", "", "", ""]
                if problem == 0:
                    bad[1] = f"not-an-email-{n}"
                elif problem == 1:
                    bad[5] = "Sleeping"
                else:
                    bad[0] = ""
                writer.writerow(bad)
                continue
            first, last = rng.choice(FIRST), rng.choice(LAST)
            is_company = rng.random() < 0.4
            name = f"{last} {rng.choice(COMPANY)} {n}" if is_company else f"{first} {last} {n}"
            row = [
                name,
                f"{first}.{last}.{n}@example.com".lower(),
                f"+86 138 {n:08d}" if rng.random() < 0.7 else "",
                rng.choice(CITIES),
                rng.choice(["CN", "DE", "FR", "US", "JP", ""]),
                rng.choice(STAGES),
                rng.choice(["", "vip", "newsletter, b2b", "trade show"]),
                f"{rng.randrange(0, 50_000)}.00" if rng.random() < 0.3 else "",
                owner.email if rng.random() < 0.5 else "",
            ]
            if len(written) < 50_000:
                written.append(row)
            writer.writerow(row)


def analyze(tables: list[str]) -> None:
    """ANALYZE as the table owner (the app role may not), then back to the app role."""
    app_role = os.environ.get("DATABASE_APP_ROLE", "")
    with connection.cursor() as cursor:
        if app_role:
            cursor.execute("RESET ROLE")
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
        if app_role:
            cursor.execute(f"SET ROLE {connection.ops.quote_name(app_role)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--existing", type=int, default=20_000, help="customers already there")
    parser.add_argument("--dup-rate", type=float, default=0.05)
    parser.add_argument("--bad-rate", type=float, default=0.02)
    parser.add_argument("--on-match", choices=["skip", "update", "create"], default="update")
    parser.add_argument("--keep", action="store_true", help="keep the organization afterwards")
    parser.add_argument("--no-undo", action="store_true", help="measure the import only")
    args = parser.parse_args()

    print(f"database: {connection.vendor}, app role: {os.environ.get('DATABASE_APP_ROLE') or '-'}")
    org, admin, owner = make_org(args.existing, "owner@example.com")
    path = Path(tempfile.mkdtemp(prefix="clientele-import-bench-")) / "bench.csv"
    write_csv(
        path,
        rows=args.rows,
        existing=args.existing,
        dup_rate=args.dup_rate,
        bad_rate=args.bad_rate,
        owner=owner,
    )
    size = path.stat().st_size
    print(f"file: {args.rows:,} rows, {size / 1e6:.1f} MB; {args.existing:,} existing customers")

    try:
        with path.open("rb") as handle, tenant_context(org):
            started = time.perf_counter()
            batch = imports.import_batch_create(
                org=org, by=admin, kind="customers", upload=File(handle, name="bench.csv")
            )
            checked = time.perf_counter() - started
            mapping = import_selectors.import_mapping_initial(
                batch=batch, targets=import_selectors.batch_targets(batch)
            )
            imports.import_batch_map(
                batch=batch, mapping=mapping, on_match=args.on_match, skip_bad_rows=True
            )
            imports.import_batch_queue(batch=batch)
        print(f"upload check (decode, header, count): {checked:.2f} s; mapping: {mapping}")

        started, cpu = time.perf_counter(), time.process_time()
        with tenant_context(org):  # what the Celery task does
            batch = imports.import_run(batch=ImportBatch.objects.get(pk=batch.pk))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"import ({args.on_match}): {batch.status}, {elapsed:.1f} s ({cpu:.1f} s of Python), "
            f"{batch.processed_rows / elapsed:,.0f} rows/s -- created {batch.created_count:,}, "
            f"updated {batch.updated_count:,}, skipped {batch.skipped_count:,}, "
            f"rejected {batch.rejected_count:,}"
        )

        if args.no_undo:
            return
        if connection.vendor == "postgresql":
            # Someone clicks "undo" minutes later, when autovacuum has analyzed the tables the
            # import grew; right away, the planner's stale statistics (a new tenant with no
            # rows) send each DELETE through the tenant's whole index instead of the primary key.
            analyze(["customers_customer", "customers_customertag", "customers_fieldchange"])
        started, cpu = time.perf_counter(), time.process_time()
        with tenant_context(org):
            imports.import_undo(batch=batch, by=admin)
            left = Customer.objects.count()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"undo: {elapsed:.1f} s ({cpu:.1f} s of Python); "
            f"customers left: {left:,} (expected {args.existing:,})"
        )
    finally:
        if not args.keep:
            with tenant_context(org):
                Customer.objects.all().delete()
                org.delete()
            User.objects.filter(pk__in=[admin.pk, owner.pk]).delete()


if __name__ == "__main__":
    main()
