"""Background work of the customers app. Tasks take ids, set the tenant, call a service."""

from celery import shared_task

from customers import export_jobs, imports
from customers.models import ImportBatch
from tenancy.context import tenant_context
from tenancy.models import Organization, User


@shared_task
def import_run_task(org_id: int, batch_id: int) -> str:
    """Run a queued import (customers.imports.import_run) as its organization.

    No automatic retries: the import is one transaction, and a batch that is no longer
    queued (already done, or taken by another worker) is left alone.
    """
    org = Organization.objects.get(pk=org_id)
    with tenant_context(org):
        batch = ImportBatch.objects.filter(pk=batch_id).first()
        if batch is None:
            return "missing"
        return imports.import_run(batch=batch).status


@shared_task
def import_undo_task(org_id: int, batch_id: int, user_id: int | None = None) -> str:
    """Undo an import (customers.imports.import_undo_queued) as its organization."""
    org = Organization.objects.get(pk=org_id)
    with tenant_context(org):
        batch = ImportBatch.objects.filter(pk=batch_id).first()
        if batch is None:
            return "missing"
        by = User.objects.filter(pk=user_id).first() if user_id else None
        return imports.import_undo_queued(batch=batch, by=by).status


@shared_task
def customer_export_task(org_id: int, token: str) -> str:
    """Write the file of a queued customer export (customers.export_jobs.export_job_run).

    No automatic retries: a job that failed says so on its page, and the person starts it
    again; a job that is no longer queued (a redelivered message) is left alone.
    """
    org = Organization.objects.get(pk=org_id)
    job = export_jobs.export_job_run(org=org, token=token)
    return job.status if job else "missing"


@shared_task
def exports_expire() -> int:
    """Delete customer exports older than EXPORT_FILE_HOURS (Celery beat, hourly)."""
    return export_jobs.export_jobs_expire()
