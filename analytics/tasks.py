"""Celery tasks: ids in, services do the work, retries bounded here."""

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from tenancy.models import Organization


@shared_task(bind=True, max_retries=2, default_retry_delay=300, acks_late=True)
def analytics_run_org(
    self, org_id: int, as_of: str | None = None, requested_by_id: int | None = None
) -> str:
    from analytics.pipeline import analytics_run
    from tenancy.models import User

    org = Organization.objects.get(pk=org_id)
    day = date.fromisoformat(as_of) if as_of else timezone.localdate()
    by = User.objects.filter(pk=requested_by_id).first() if requested_by_id else None
    try:
        run = analytics_run(org=org, as_of=day, by=by)
    except Exception as error:
        raise self.retry(exc=error) from error
    return run.status if run else "busy"


@shared_task
def analytics_nightly(as_of: str | None = None) -> int:
    """Enqueue one run per organization (yesterday's close by default)."""
    day = as_of or (timezone.localdate() - timedelta(days=1)).isoformat()
    count = 0
    for org_id in Organization.objects.values_list("pk", flat=True).iterator():
        analytics_run_org.delay(org_id, day)
        count += 1
    return count
