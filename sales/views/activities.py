"""Tasks, my day and the calendar. Every view needs WORK_SALES; managers and admins
(CONFIGURE_SALES) may also look at a colleague's tasks and calendar."""

from __future__ import annotations

from copy import copy
from datetime import datetime, time, timedelta

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sales.forms.activities import TaskFilters, TaskForm
from sales.selectors import activities as selectors
from sales.services import activities as services
from tenancy.permissions import Capability, require_capability, role_can

HTMX_TASK_ROW = "sales/activities/partials/task_row.html"


def _can_pick_member(request) -> bool:
    return role_can(request.membership.role, Capability.CONFIGURE_SALES)


def _next_url(request, default: str) -> str:
    """The page to go back to (`next`, a path on this site), or `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@require_GET
@require_capability(Capability.WORK_SALES)
def task_list(request, org_slug: str):
    org = request.organization
    can_pick = _can_pick_member(request)
    filters = TaskFilters(request.GET, org=org, user=request.user, can_pick_member=can_pick)
    result = selectors.task_list_page(
        org=org,
        status=filters.status,
        member=filters.member,
        params=request.GET,
        base_url=reverse("sales:task-list", kwargs={"org_slug": org.slug}),
    )
    context = {
        "result": result,
        "page": result.page,
        "filters": filters,
        "show_assignee": filters.member != request.user,
    }
    if request.htmx and request.htmx.target == "task-results":
        return render(request, "sales/activities/partials/task_results.html", context)
    context["members"] = list(selectors.sales_members(org=org)) if can_pick else []
    return render(request, "sales/activities/task_list.html", context)


def _default_due(request) -> datetime:
    """A day picked on the calendar (`?date=`) at nine, or today at five (tomorrow at nine
    once the afternoon is over)."""
    picked = selectors.calendar_parse_date(request.GET.get("date"))
    if picked is not None:
        return selectors.day_start(picked) + timedelta(hours=9)
    now = timezone.localtime()
    if now.hour < 16:
        return timezone.make_aware(datetime.combine(now.date(), time(17)))
    return timezone.make_aware(datetime.combine(now.date() + timedelta(days=1), time(9)))


@require_capability(Capability.WORK_SALES)
def task_create(request, org_slug: str):
    org = request.organization
    initial = {"assignee": request.user.pk, "due_at": _default_due(request)}
    for name in ("customer", "opportunity", "lead"):
        if (pk := _int(request.GET.get(name))) is not None:
            initial[name] = pk
    form = TaskForm(request.POST or None, initial=initial, org=org)
    if request.method == "POST" and form.is_valid():
        task = services.task_create(org=org, by=request.user, data=form.service_data())
        messages.success(request, _("Task “%(title)s” was added.") % {"title": task.title})
        default = reverse("sales:task-detail", kwargs={"org_slug": org.slug, "pk": task.pk})
        return redirect(_next_url(request, default))
    context = {"form": form, "next": _next_url(request, "")}
    return render(
        request, "sales/activities/task_form.html", context, status=400 if form.errors else 200
    )


@require_GET
@require_capability(Capability.WORK_SALES)
def task_detail(request, org_slug: str, pk: int):
    task = selectors.task_get(org=request.organization, pk=pk)
    return render(request, "sales/activities/task_detail.html", {"task": task})


@require_capability(Capability.WORK_SALES)
def task_edit(request, org_slug: str, pk: int):
    org = request.organization
    task = selectors.task_get(org=org, pk=pk)
    # A copy for the form: validation writes the posted values into its instance, and the
    # service compares them with the task as it was (a new reminder time re-arms it).
    form = TaskForm(request.POST or None, instance=copy(task), org=org)
    if request.method == "POST" and form.is_valid():
        services.task_update(task=task, by=request.user, data=form.service_data())
        messages.success(request, _("Changes saved."))
        default = reverse("sales:task-detail", kwargs={"org_slug": org.slug, "pk": task.pk})
        return redirect(_next_url(request, default))
    context = {"form": form, "task": task, "next": _next_url(request, "")}
    return render(
        request, "sales/activities/task_form.html", context, status=400 if form.errors else 200
    )


@require_POST
@require_capability(Capability.WORK_SALES)
def task_delete(request, org_slug: str, pk: int):
    task = selectors.task_get(org=request.organization, pk=pk)
    services.task_delete(task=task, by=request.user)
    messages.success(request, _("Task “%(title)s” was deleted.") % {"title": task.title})
    return redirect(_next_url(request, reverse("sales:task-list", kwargs={"org_slug": org_slug})))


@require_POST
@require_capability(Capability.WORK_SALES)
def task_toggle(request, org_slug: str, pk: int):
    """Mark done (`done=1`) or open again (`done=0`; without it, the other state). With htmx
    the task's row comes back; otherwise the page it was on."""
    org = request.organization
    task = selectors.task_get(org=org, pk=pk)
    done = request.POST.get("done")
    if done == "1" or (done is None and task.completed_at is None):
        services.task_complete(task=task, by=request.user)
    else:
        services.task_reopen(task=task, by=request.user)
    task = selectors.tasks_decorate([task], org=org)[0]
    if request.htmx:
        context = {
            "task": task,
            "layout": request.POST.get("layout", ""),
            "show_assignee": request.POST.get("show_assignee") == "1",
            "next": _next_url(request, ""),
        }
        return render(request, HTMX_TASK_ROW, context)
    return redirect(
        _next_url(request, reverse("sales:task-detail", kwargs={"org_slug": org_slug, "pk": pk}))
    )


@require_GET
@require_capability(Capability.WORK_SALES)
def task_related_search(request, org_slug: str):
    """The task form's record pickers: a few matches for `?kind=customer|opportunity|lead&q=`."""
    kind = request.GET.get("kind", "")
    options = selectors.related_search(
        org=request.organization, kind=kind, query=request.GET.get("q", "")
    )
    context = {"options": options, "kind": kind, "query": request.GET.get("q", "").strip()}
    return render(request, "sales/activities/partials/related_results.html", context)


@require_GET
@require_capability(Capability.WORK_SALES)
def my_day(request, org_slug: str):
    day = selectors.my_day(org=request.organization, user=request.user)
    return render(request, "sales/activities/my_day.html", {"day": day})


@require_GET
@require_capability(Capability.WORK_SALES)
def calendar(request, org_slug: str):
    """Month (default) or week; `?date=YYYY-MM-DD` or `?month=YYYY-MM` picks it (junk means
    today); managers pick whose calendar with `?member=<id>`."""
    org = request.organization
    can_pick = _can_pick_member(request)
    members = list(selectors.sales_members(org=org)) if can_pick else []
    member = request.user
    if can_pick and (wanted := _int(request.GET.get("member"))) is not None:
        member = next((m for m in members if m.pk == wanted), member)
    view = request.GET.get("view", selectors.CalendarView.MONTH)
    anchor = selectors.calendar_parse_date(request.GET.get("date"), request.GET.get("month"))
    cal = selectors.calendar_build(
        org=org, member=member, view=view, anchor=anchor or timezone.localdate()
    )
    context = {
        "cal": cal,
        "members": members,
        "picked_member": member != request.user,
        "links": _calendar_links(org_slug, cal, member=member if member != request.user else None),
    }
    if request.htmx and request.htmx.target == "calendar":
        return render(request, "sales/activities/partials/calendar_body.html", context)
    return render(request, "sales/activities/calendar.html", context)


def _calendar_links(org_slug: str, cal: selectors.Calendar, *, member) -> dict[str, str]:
    """The calendar's navigation (previous, next, today, the period as month or week), and on
    each day the links to its week and to a new task due that day."""
    base = reverse("sales:calendar", kwargs={"org_slug": org_slug})
    new_task = reverse("sales:task-create", kwargs={"org_slug": org_slug})
    keep = {"member": member.pk} if member is not None else {}

    def url(view: str, day) -> str:
        params = {"view": view, **keep}
        if day is not None:
            params["date"] = day.isoformat()
        return f"{base}?{urlencode(params)}"

    for week in cal.weeks:
        for cell in week:
            cell.week_url = url(selectors.CalendarView.WEEK, cell.day)
            cell.add_url = f"{new_task}?{urlencode({'date': cell.day.isoformat()})}"
    in_month = cal.today.replace(day=1) == cal.anchor.replace(day=1)
    return {
        "previous": url(cal.view, cal.previous) if cal.previous else "",
        "next": url(cal.view, cal.next) if cal.next else "",
        "today": url(cal.view, None),
        "month": url(selectors.CalendarView.MONTH, cal.anchor),
        "week": url(
            selectors.CalendarView.WEEK,
            cal.anchor if cal.view == selectors.CalendarView.WEEK or not in_month else cal.today,
        ),
    }
