"""What activities add to other apps: the "My tasks" home panel, the customer timeline's tasks,
and tasks following their customer through a merge."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.merge import register_related
from customers.timeline import TimelineEntry, fetch_page, register_source
from sales.models import Task
from tenancy.context import require_org
from tenancy.home import HomePanel, register_home_panel
from tenancy.permissions import Capability, role_can

HOME_TASKS_SHOWN = 8

register_related("sales_tasks", Task)


@register_home_panel
def my_tasks(request) -> HomePanel | None:
    if not role_can(request.membership.role, Capability.WORK_SALES):
        return None
    from sales.selectors.activities import task_list_due_soon

    tasks = task_list_due_soon(org=request.organization, user=request.user, limit=HOME_TASKS_SHOWN)
    return HomePanel(
        title=_("My tasks for today"),
        template="sales/activities/partials/home_my_tasks.html",
        context={"tasks": tasks[:HOME_TASKS_SHOWN], "more": len(tasks) > HOME_TASKS_SHOWN},
        order=8,
    )


@register_source("task", gettext_lazy("Tasks"))
def _tasks(*, customer, before, limit: int) -> list[TimelineEntry]:
    """The customer's tasks by due time: open ones ahead of today come first on the timeline."""
    org = require_org()
    rows = fetch_page(
        Task.objects.filter(customer=customer).select_related("assignee"),
        field_name="due_at",
        kind="task",
        before=before,
        limit=limit,
    )
    now = timezone.now()
    entries = []
    for task in rows:
        if task.completed_at is not None:
            badge, tone = _("Task done"), "success"
        elif task.due_at < now:
            badge, tone = _("Task overdue"), "danger"
        else:
            badge, tone = _("Task"), "warning"
        entries.append(
            TimelineEntry(
                when=task.due_at,
                kind="task",
                pk=task.pk,
                title=task.title,
                detail=task.description,
                url=reverse("sales:task-detail", kwargs={"org_slug": org.slug, "pk": task.pk}),
                badge=badge,
                badge_tone=tone,
                actor=str(task.assignee or ""),
            )
        )
    return entries
