"""The customer list filtered and sorted by scores, at scale: milliseconds per page.

    DATABASE_URL=postgres://clientele_owner@127.0.0.1:5432/clientele_scale \\
        .venv/bin/python bench/analytics_list.py --org acme --user manager@acme.example

Runs customers.selectors.customer_list_page (the list's page: rows, capped count) in process as
the app role (row-level security on), for each filter or sort, twice, and times the second run
of page one and then page two (the "next" link). No HTTP, no rendering: the database's share.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import QueryDict  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from customers.selectors import customer_list_page  # noqa: E402
from tenancy.context import tenant_context  # noqa: E402
from tenancy.db import become_app_role  # noqa: E402
from tenancy.models import Organization, User  # noqa: E402

CASES = [
    "",
    "sort=-clv",
    "sort=-churn",
    "rfm_segment=lost",
    "rfm_segment=champions",
    "cluster=1",
    "value_quadrant=best",
    "churn=high",
    "clv_min=2000",
    "rfm_segment=lost&sort=-clv",
]


def _page(org, user, params: str) -> tuple[float, int, str]:
    with tenant_context(org, user_id=user.pk), CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = customer_list_page(org=org, user=user, params=QueryDict(params), base_url="/")
        seconds = time.perf_counter() - started
    following = result.page.next_url.split("?", 1)[1] if result.page.next_url else ""
    return seconds, len(queries.captured_queries), following


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--org", default="acme")
    parser.add_argument("--user", default="manager@acme.example")
    parser.add_argument("cases", nargs="*", default=CASES, help="query strings of the list")
    args = parser.parse_args()
    settings.DATABASE_APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "clientele_app")
    org = Organization.objects.get(slug=args.org)
    user = User.objects.get(email=args.user)
    become_app_role(connection)
    print(f"load average {os.getloadavg()}")
    for case in args.cases:
        _page(org, user, case)  # warm the cache
        first, queries, following = _page(org, user, case)
        second = _page(org, user, following)[0] if following else float("nan")
        print(
            f"{case or '(no filter)':32s} page 1 {first * 1000:6.0f} ms   page 2 "
            f"{second * 1000:6.0f} ms   {queries} queries"
        )
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
