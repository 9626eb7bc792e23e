from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from analytics import selectors
from analytics.models import RunStatus
from analytics.pipeline import run_progress
from analytics.tasks import analytics_run_org
from tenancy.permissions import Capability, require_capability


@require_capability(Capability.RUN_ANALYTICS)
def run_list(request, org_slug: str):
    runs = selectors.run_list(org=request.organization)
    running = next((run for run in runs if run.status == RunStatus.RUNNING), None)
    return render(request, "analytics/run_list.html", {"runs": runs, "running": running})


@require_POST
@require_capability(Capability.RUN_ANALYTICS)
def run_now(request, org_slug: str):
    org, user = request.organization, request.user
    today = timezone.localdate().isoformat()
    # After the request's transaction commits: a worker must see a consistent database (and
    # with no broker the task runs right here, eagerly).
    transaction.on_commit(lambda: analytics_run_org.delay(org.pk, today, user.pk))
    messages.success(request, _("Scoring started. This page shows its progress."))
    return redirect("analytics:run-list", org_slug=org.slug)


@require_capability(Capability.RUN_ANALYTICS)
def run_status(request, org_slug: str, pk: int):
    run = selectors.run_get(org=request.organization, pk=pk)
    stage = run_progress(org=request.organization, as_of=run.as_of)
    response = render(request, "analytics/partials/run_status.html", {"run": run, "stage": stage})
    if run.status != RunStatus.RUNNING and request.htmx:
        response["HX-Refresh"] = "true"  # done: reload the page to show the results
    return response
