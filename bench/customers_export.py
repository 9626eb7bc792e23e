"""Time a background export of the customer list (customers.export_jobs) at a million customers.

    .venv/bin/python bench/customers_export.py                               # CSV, every customer
    .venv/bin/python bench/customers_export.py --format xlsx --query lifecycle_stage=churned
    .venv/bin/python bench/customers_export.py --streamed 10000   # the in-request CSV, 10,000 rows

It runs the job as a worker would (export_job_start, then export_job_run), as the organization's
manager and as the non-owner app role (row-level security in force), writing under a temporary
MEDIA_ROOT, and prints the rows, seconds, rows a second, the file's size and the process's peak
memory. --streamed N instead times the CSV that a request streams (customers.exports.csv_lines)
for the first N customers of the list: what must finish within gunicorn's timeout.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="clientele-export-bench-"))

from customers_load import DEFAULT_DATABASE_URL, _configure, manager


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--app-role", default="clientele_app")
    parser.add_argument("--org", default="acme")
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    parser.add_argument("--query", default="", help="the customer list's filters")
    parser.add_argument("--streamed", type=int, default=0, help="time N rows of streamed CSV")
    args = parser.parse_args()
    _configure(args.database_url, args.app_role)
    from django.conf import settings
    from django.http import QueryDict

    from customers import export_jobs, exports, selectors
    from tenancy.context import tenant_context
    from tenancy.models import Organization

    org = Organization.objects.get(slug=args.org)
    by = manager(args.org)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    if args.streamed:
        with tenant_context(org):
            ids = list(
                selectors.customer_list(org=org, user=by, params=QueryDict(args.query))
                .order_by("pk")
                .values_list("pk", flat=True)[: args.streamed]
            )
            queryset = selectors.customer_base(org=org).filter(pk__in=ids)
            custom_fields = selectors.custom_field_list(org=org)
        size = 0
        for line in exports.csv_lines(org=org, queryset=queryset, custom_fields=custom_fields):
            size += len(line.encode("utf-8"))
        rows, kind = len(ids), "streamed csv"
    else:
        settings.EXPORT_XLSX_MAX_ROWS = max(settings.EXPORT_XLSX_MAX_ROWS, 1_048_575)
        job, _created = export_jobs.export_job_start(
            org=org, by=by, query=args.query, fmt=args.format
        )
        job = export_jobs.export_job_run(org=org, token=job.token)
        if job.status != "done":
            raise SystemExit(f"the export {job.status}: {job.error}")
        rows, size, kind = job.rows, job.size, f"job {args.format}"
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{kind} of {args.org} ({args.query or 'no filter'}): {rows:,} rows in {seconds:.1f} s, "
        f"{rows / seconds:,.0f} rows/s, {size / 2**20:.1f} MB, peak memory {peak_mb:.0f} MB, "
        f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
