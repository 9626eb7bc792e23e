"""The analytics entries of the URL registry (tests/url_objects.py)."""

from datetime import date

from analytics.models import AnalyticsRun
from tenancy.context import tenant_context
from tests.url_objects import url_objects


@url_objects("analytics:run-status")
def _a_run(org) -> dict:
    with tenant_context(org):
        run = AnalyticsRun.objects.create(
            organization=org, as_of=date(2026, 6, 30), status="succeeded"
        )
    return {"pk": run.pk}
