"""Background work of the sales app. Tasks are thin: they call a service, which sets the tenant."""

from celery import shared_task

from sales.services import activities


@shared_task
def tasks_send_reminders() -> int:
    """Every five minutes (CELERY_BEAT_SCHEDULE): remind assignees of their due tasks."""
    return activities.tasks_send_reminders()


@shared_task
def leads_rescore_all_task(org_id: int) -> int:
    """Recalculate the score of every open lead of one organization after its rules changed."""
    from sales.services.lead_scoring import leads_rescore_all
    from tenancy.context import tenant_context_for

    with tenant_context_for(org_id) as org:
        return leads_rescore_all(org=org)


@shared_task
def quotes_expire() -> int:
    """Nightly (CELERY_BEAT_SCHEDULE): sent quotes past their validity date become expired."""
    from sales.services.catalog.quotes import quotes_expire_everywhere

    return quotes_expire_everywhere()
