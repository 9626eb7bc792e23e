"""crm_site.wsgi with crm_site.pagination.COUNT_CAP set from BENCH_COUNT_CAP, so that
bench/customers_load.py --count-cap can measure the lists with another cap than the default."""

import os

from crm_site import pagination
from crm_site.wsgi import application  # noqa: F401 (gunicorn serves it)

pagination.COUNT_CAP = int(os.environ["BENCH_COUNT_CAP"])
