"""Reads for activities: tasks, a rep's day, the calendar and the related-record search.

Days are the organization's days: midnight to midnight in the current time zone
(settings.TIME_ZONE, the organization's and its users' zone). Every function answers in a fixed
number of queries whatever the data; the lists are capped.
"""

from __future__ import annotations

import calendar as pycalendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import F, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone

from crm_site.pagination import KeysetPage, SortKey, keyset_page
from customers.search import customer_search
from sales.models import Lead, LeadStatus, Opportunity, Task
from tenancy.models import Organization, User
from tenancy.permissions import Capability, Role, role_can

OVERDUE_SHOWN = 25
UPCOMING_DAYS = 7
UPCOMING_CAP = 200
HOT_DAYS = 30
HOT_MIN_PROBABILITY = 50
HOT_SHOWN = 10
CALENDAR_TASK_CAP = 1500
CALENDAR_OPPORTUNITY_CAP = 500
MONTH_CELL_SHOWN = 3
SEARCH_SHOWN = 8
# Calendar dates outside these years fall back to today: no grid can then cross date.min/max.
YEARS = range(1900, 3000)


# --- Days -------------------------------------------------------------------------------------


def day_start(day: date) -> datetime:
    """The aware datetime at which `day` begins in the current time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def url_or_blank(name: str, **kwargs) -> str:
    """The URL, or "" while the view behind `name` does not exist (another area's page)."""
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return ""


# --- Tasks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelatedRecord:
    kind: str  # "customer", "opportunity" or "lead"
    label: str
    url: str


def task_base(*, org: Organization) -> QuerySet[Task]:
    return Task.objects.select_related("assignee", "customer", "opportunity", "lead")


def _related_records(task: Task, org: Organization) -> list[RelatedRecord]:
    records = []
    if task.customer_id:
        url = url_or_blank("customers:customer-detail", org_slug=org.slug, pk=task.customer_id)
        records.append(RelatedRecord("customer", task.customer.name, url))
    if task.opportunity_id:
        url = url_or_blank("sales:opportunity-detail", org_slug=org.slug, pk=task.opportunity_id)
        records.append(RelatedRecord("opportunity", task.opportunity.name, url))
    if task.lead_id:
        url = url_or_blank("sales:lead-detail", org_slug=org.slug, pk=task.lead_id)
        label = task.lead.full_name + (f" ({task.lead.company})" if task.lead.company else "")
        records.append(RelatedRecord("lead", label, url))
    return records


def tasks_decorate(
    tasks: list[Task], *, org: Organization, now: datetime | None = None
) -> list[Task]:
    """Give each task (loaded through task_base) what its row shows: `related_records`,
    `is_done`, `is_overdue` and `local_due` (the due time in the current zone)."""
    now = now or timezone.now()
    for task in tasks:
        task.related_records = _related_records(task, org)
        task.is_done = task.completed_at is not None
        task.is_overdue = not task.is_done and task.due_at < now
        task.local_due = timezone.localtime(task.due_at)
    return tasks


def task_get(*, org: Organization, pk: int) -> Task:
    """A task of `org`, or 404 (the same answer for "not yours" and "does not exist")."""
    task = get_object_or_404(task_base(org=org).select_related("created_by"), pk=pk)
    return tasks_decorate([task], org=org)[0]


class TaskStatus:
    OPEN = "open"
    DONE = "done"


@dataclass
class TaskListResult:
    page: KeysetPage
    status: str
    member: User | None  # None: the whole team


def task_list_page(
    *, org: Organization, status: str, member: User | None, params, base_url: str
) -> TaskListResult:
    """One page of tasks: open ones by due date, or done ones newest first; of `member`, or of
    everyone when `member` is None. Each is served by an index led by the organization."""
    tasks = task_base(org=org)
    if member is not None:
        tasks = tasks.filter(assignee=member)
    if status == TaskStatus.DONE:
        tasks, key = tasks.filter(completed_at__isnull=False), SortKey("completed_at")
    else:
        tasks, key = tasks.filter(completed_at__isnull=True), SortKey("due_at", descending=False)
    page = keyset_page(
        tasks, key=key, params=params, base_url=base_url, count=False, hx_target="#task-results"
    )
    tasks_decorate(page.items, org=org)
    return TaskListResult(page=page, status=status, member=member)


def task_list_open_for_customer(*, org: Organization, customer, limit: int = 20) -> list[Task]:
    return tasks_decorate(
        list(
            task_base(org=org)
            .filter(customer=customer, completed_at__isnull=True)
            .order_by("due_at", "id")[:limit]
        ),
        org=org,
    )


def task_list_due_soon(*, org: Organization, user: User, limit: int = 8) -> list[Task]:
    """`user`'s open tasks due today or earlier, soonest first, at most `limit` + 1 (the caller
    tells "and more" from the extra one)."""
    tomorrow = day_start(timezone.localdate() + timedelta(days=1))
    tasks = (
        task_base(org=org)
        .filter(assignee=user, completed_at__isnull=True, due_at__lt=tomorrow)
        .order_by("due_at", "id")[: limit + 1]
    )
    return tasks_decorate(list(tasks), org=org)


def sales_members(*, org: Organization) -> QuerySet[User]:
    """The members of `org` whose role works sales: who may be given tasks, by name."""
    roles = [role for role in Role if role_can(role, Capability.WORK_SALES)]
    return User.objects.filter(memberships__organization=org, memberships__role__in=roles).order_by(
        "full_name", "email"
    )


def member_get(*, org: Organization, pk) -> User | None:
    """The sales member of `org` with id `pk`, or None (also for junk and other tenants' users)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return next((user for user in sales_members(org=org) if user.pk == pk), None)


# --- My day -----------------------------------------------------------------------------------


@dataclass
class HotOpportunity:
    opportunity: Opportunity
    url: str
    customer_url: str


@dataclass
class DayGroup:
    day: date
    tasks: list[Task]


@dataclass
class MyDay:
    today: date
    overdue: list[Task]
    overdue_more: bool
    due_today: list[Task]
    upcoming: list[DayGroup]
    hot: list[HotOpportunity]


def hot_opportunities(
    *, org: Organization, user: User, today: date, limit: int = HOT_SHOWN
) -> list[HotOpportunity]:
    """`user`'s open opportunities closing within HOT_DAYS with a probability of at least
    HOT_MIN_PROBABILITY %, biggest weighted amount first."""
    rows = (
        Opportunity.objects.filter(
            owner=user,
            close_date__gte=today,
            close_date__lte=today + timedelta(days=HOT_DAYS),
            probability__gte=HOT_MIN_PROBABILITY,
            stage__is_won=False,
            stage__is_lost=False,
        )
        .select_related("customer", "stage")
        .alias(weight=F("amount") * F("probability"))
        .order_by("-weight", "close_date", "id")[:limit]
    )
    return [
        HotOpportunity(
            opportunity=row,
            url=url_or_blank("sales:opportunity-detail", org_slug=org.slug, pk=row.pk),
            customer_url=url_or_blank(
                "customers:customer-detail", org_slug=org.slug, pk=row.customer_id
            ),
        )
        for row in rows
    ]


def my_day(*, org: Organization, user: User, now: datetime | None = None) -> MyDay:
    """`user`'s open tasks: overdue (before today), due today and in the next seven days (by
    day), and their hot opportunities. Three queries."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    today_start, tomorrow_start = day_start(today), day_start(today + timedelta(days=1))
    horizon = day_start(today + timedelta(days=UPCOMING_DAYS + 1))
    mine = task_base(org=org).filter(assignee=user, completed_at__isnull=True)

    overdue = list(
        mine.filter(due_at__lt=today_start).order_by("due_at", "id")[: OVERDUE_SHOWN + 1]
    )
    soon = list(
        mine.filter(due_at__gte=today_start, due_at__lt=horizon).order_by("due_at", "id")[
            :UPCOMING_CAP
        ]
    )
    tasks_decorate(overdue, org=org, now=now)
    tasks_decorate(soon, org=org, now=now)
    by_day: dict[date, list[Task]] = defaultdict(list)
    for task in soon:
        if task.due_at >= tomorrow_start:
            by_day[task.local_due.date()].append(task)
    return MyDay(
        today=today,
        overdue=overdue[:OVERDUE_SHOWN],
        overdue_more=len(overdue) > OVERDUE_SHOWN,
        due_today=[task for task in soon if task.due_at < tomorrow_start],
        upcoming=[DayGroup(day, tasks) for day, tasks in sorted(by_day.items())],
        hot=hot_opportunities(org=org, user=user, today=today),
    )


# --- Calendar ---------------------------------------------------------------------------------


class CalendarView:
    MONTH = "month"
    WEEK = "week"


@dataclass
class CalendarDay:
    day: date
    in_range: bool  # in the month shown (the grid starts and ends with whole weeks)
    is_today: bool
    tasks: list[Task] = field(default_factory=list)
    opportunities: list[HotOpportunity] = field(default_factory=list)
    hidden: int = 0  # items left out of a month cell (the week view shows them all)
    week_url: str = ""  # set by the view, which knows the query string to keep
    add_url: str = ""

    @property
    def shown_tasks(self) -> list[Task]:
        return self.tasks[:MONTH_CELL_SHOWN]

    @property
    def shown_opportunities(self) -> list[HotOpportunity]:
        room = max(MONTH_CELL_SHOWN - len(self.tasks), 0)
        return self.opportunities[:room]

    @property
    def is_empty(self) -> bool:
        return not self.tasks and not self.opportunities


@dataclass
class Calendar:
    view: str
    anchor: date
    today: date
    title: str
    weekdays: list[date]  # the first week's days, for the column headings
    weeks: list[list[CalendarDay]]
    previous: date | None
    next: date | None
    member: User
    truncated: bool


def calendar_parse_date(value: str | None, month: str | None = None) -> date | None:
    """`?date=YYYY-MM-DD` (or `?month=YYYY-MM`) as a date in YEARS, or None for anything else."""
    try:
        if month:
            year, number = month.split("-")
            parsed = date(int(year), int(number), 1)
        elif value:
            parsed = date.fromisoformat(value)
        else:
            return None
    except (TypeError, ValueError, OverflowError):
        return None
    return parsed if parsed.year in YEARS else None


def _first_weekday() -> int:
    # Django counts from Sunday (0), Python's calendar from Monday (0).
    return (int(formats.get_format("FIRST_DAY_OF_WEEK")) - 1) % 7


def _week_start(day: date) -> date:
    return day - timedelta(days=(day.weekday() - _first_weekday()) % 7)


def _shift_month(day: date, months: int) -> date | None:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, 1) if year in YEARS else None


def _in_years(day: date) -> date | None:
    return day if day.year in YEARS else None


def calendar_build(
    *, org: Organization, member: User, view: str, anchor: date, now: datetime | None = None
) -> Calendar:
    """The month (whole weeks around it) or the week holding `anchor`: `member`'s tasks by due
    day and their open opportunities by expected close date. Two queries."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    if view == CalendarView.WEEK:
        first = _week_start(anchor)
        last = first + timedelta(days=6)
        previous, following = (
            _in_years(first - timedelta(days=7)),
            _in_years(first + timedelta(days=7)),
        )
        start_date, end_date = first, last
        title = _week_title(first, last)
    else:
        view = CalendarView.MONTH
        anchor = anchor.replace(day=1)
        last_day = anchor.replace(day=pycalendar.monthrange(anchor.year, anchor.month)[1])
        start_date = _week_start(anchor)
        end_date = _week_start(last_day) + timedelta(days=6)
        previous, following = _shift_month(anchor, -1), _shift_month(anchor, 1)
        title = formats.date_format(anchor, "YEAR_MONTH_FORMAT")

    tasks = list(
        task_base(org=org)
        .filter(
            assignee=member,
            due_at__gte=day_start(start_date),
            due_at__lt=day_start(end_date + timedelta(days=1)),
        )
        .order_by("due_at", "id")[: CALENDAR_TASK_CAP + 1]
    )
    truncated = len(tasks) > CALENDAR_TASK_CAP
    tasks_decorate(tasks[:CALENDAR_TASK_CAP], org=org, now=now)
    opportunities = (
        Opportunity.objects.filter(
            owner=member,
            close_date__gte=start_date,
            close_date__lte=end_date,
            stage__is_won=False,
            stage__is_lost=False,
        )
        .select_related("customer", "stage")
        .order_by("close_date", "-amount", "id")[:CALENDAR_OPPORTUNITY_CAP]
    )

    days: dict[date, CalendarDay] = {}
    day = start_date
    while day <= end_date:
        in_range = view == CalendarView.WEEK or day.month == anchor.month
        days[day] = CalendarDay(day=day, in_range=in_range, is_today=day == today)
        day += timedelta(days=1)
    for task in tasks[:CALENDAR_TASK_CAP]:
        days[task.local_due.date()].tasks.append(task)
    for row in opportunities:
        url = url_or_blank("sales:opportunity-detail", org_slug=org.slug, pk=row.pk)
        days[row.close_date].opportunities.append(HotOpportunity(row, url, ""))
    for cell in days.values():
        shown = len(cell.shown_tasks) + len(cell.shown_opportunities)
        cell.hidden = len(cell.tasks) + len(cell.opportunities) - shown

    ordered = list(days.values())
    weeks = [ordered[i : i + 7] for i in range(0, len(ordered), 7)]
    return Calendar(
        view=view,
        anchor=anchor,
        today=today,
        title=title,
        weekdays=[cell.day for cell in weeks[0]],
        weeks=weeks,
        previous=previous,
        next=following,
        member=member,
        truncated=truncated,
    )


def _week_title(first: date, last: date) -> str:
    start, end = (formats.date_format(day, "DATE_FORMAT") for day in (first, last))
    return f"{start} – {end}"


# --- Related-record search (the task form's autocomplete) -----------------------------------


@dataclass(frozen=True)
class RelatedOption:
    pk: int
    label: str
    detail: str


class RelatedKind:
    CUSTOMER = "customer"
    OPPORTUNITY = "opportunity"
    LEAD = "lead"
    ALL = ("customer", "opportunity", "lead")


def related_search(
    *, org: Organization, kind: str, query: str, limit: int = SEARCH_SHOWN
) -> list[RelatedOption]:
    """At most `limit` records of `kind` matching `query`, for the task form. Customers go
    through the customers app's indexed search; opportunities and leads match a name prefix."""
    query = " ".join(query.split())[:100]
    if not query or kind not in RelatedKind.ALL:
        return []
    if kind == RelatedKind.CUSTOMER:
        return [
            RelatedOption(c.pk, c.name, ", ".join(v for v in (c.city, c.email) if v))
            for c in customer_search(org=org, query=query, limit=limit)
        ]
    if kind == RelatedKind.OPPORTUNITY:
        rows = (
            Opportunity.objects.filter(
                name__istartswith=query, stage__is_won=False, stage__is_lost=False
            )
            .select_related("customer")
            .order_by("name", "id")[:limit]
        )
        return [RelatedOption(o.pk, o.name, o.customer.name) for o in rows]
    leads = (
        Lead.objects.filter(
            Q(last_name__istartswith=query)
            | Q(first_name__istartswith=query)
            | Q(company__istartswith=query)
        )
        .exclude(status=LeadStatus.CONVERTED)
        .order_by("last_name", "first_name", "id")[:limit]
    )
    return [RelatedOption(lead.pk, lead.full_name, lead.company) for lead in leads]
