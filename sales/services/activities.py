"""Writes for activities: tasks and their reminders. Keyword-only, one transaction each."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from sales.models import Task
from tenancy.context import tenant_context
from tenancy.models import Organization, User
from tenancy.services import notification_create

logger = logging.getLogger(__name__)

# Reminders sent per organization and run; the rest wait for the next run (five minutes later).
REMINDER_BATCH = 200

TASK_FIELDS = (
    "title",
    "description",
    "due_at",
    "priority",
    "assignee",
    "customer",
    "opportunity",
    "lead",
    "remind_at",
)


@transaction.atomic
def task_create(*, org: Organization, by: User, data: dict) -> Task:
    """A new task from the form's cleaned data (TASK_FIELDS), created by `by`."""
    task = Task(organization=org, created_by=by, **{f: data.get(f) for f in TASK_FIELDS})
    task.description = task.description or ""
    task.save()
    return task


@transaction.atomic
def task_update(*, task: Task, by: User, data: dict) -> Task:
    """Save the form's changes. A new reminder time or a new assignee arms the reminder again."""
    rearm = data.get("remind_at") != task.remind_at or (
        getattr(data.get("assignee"), "pk", None) != task.assignee_id
    )
    for name in TASK_FIELDS:
        setattr(task, name, data.get(name))
    task.description = task.description or ""
    changed = list(TASK_FIELDS)
    if rearm and task.reminded_at is not None:
        task.reminded_at = None
        changed.append("reminded_at")
    task.save(update_fields=changed)
    return task


@transaction.atomic
def task_complete(*, task: Task, by: User) -> Task:
    if task.completed_at is None:
        task.completed_at = timezone.now()
        task.save(update_fields=["completed_at"])
    return task


@transaction.atomic
def task_reopen(*, task: Task, by: User) -> Task:
    if task.completed_at is not None:
        task.completed_at = None
        task.save(update_fields=["completed_at"])
    return task


@transaction.atomic
def task_delete(*, task: Task, by: User) -> None:
    task.delete()


# --- Reminders --------------------------------------------------------------------------------


def _due_reminders(*, org: Organization, now: datetime, limit: int) -> list[Task]:
    """Tasks whose reminder time has come, not yet reminded nor done, assigned to an active
    member of `org`; locked, skipping rows another run holds (PostgreSQL)."""
    tasks = (
        Task.objects.filter(
            remind_at__lte=now,
            reminded_at__isnull=True,
            completed_at__isnull=True,
            assignee__is_active=True,
            assignee__memberships__organization=org,
        )
        .select_related("assignee", "customer")
        .order_by("remind_at", "id")
    )
    if connection.features.has_select_for_update_skip_locked:
        tasks = tasks.select_for_update(skip_locked=True, of=("self",))
    return list(tasks[:limit])


def _reminder_email(task: Task, *, org: Organization, link: str) -> EmailMessage:
    context = {
        "task": task,
        "org": org,
        "due": formats.date_format(timezone.localtime(task.due_at), "DATETIME_FORMAT"),
        "url": (settings.SITE_URL.rstrip("/") + link) if settings.SITE_URL else "",
    }
    return EmailMessage(
        subject=_("Reminder: %(title)s") % {"title": task.title},
        body=render_to_string("sales/activities/email/reminder.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[task.assignee.email],
    )


def _send_quietly(emails: list[EmailMessage]) -> None:
    # The in-app notification is there either way; a mail server that is down must not make the
    # job send the notification again on its next run.
    try:
        mailers.default.send_messages(emails)
    except Exception:
        logger.exception("Could not send %s task reminder emails", len(emails))


def task_reminders_send(
    *, org: Organization, now: datetime | None = None, limit: int = REMINDER_BATCH
) -> int:
    """Remind the assignees of `org`'s due reminders (at most `limit`): an in-app notification
    each, an email each once the transaction commits, and `reminded_at` set so that no task is
    reminded twice. Returns how many were reminded."""
    now = now or timezone.now()
    with tenant_context(org):
        tasks = _due_reminders(org=org, now=now, limit=limit)
        emails = []
        for task in tasks:
            link = reverse("sales:task-detail", kwargs={"org_slug": org.slug, "pk": task.pk})
            due = formats.date_format(timezone.localtime(task.due_at), "DATETIME_FORMAT")
            body = _("Due %(due)s") % {"due": due}
            if task.customer_id:
                body += f" · {task.customer.name}"
            notification_create(
                org=org,
                user=task.assignee,
                title=_("Reminder: %(title)s") % {"title": task.title},
                body=body,
                link=link,
            )
            emails.append(_reminder_email(task, org=org, link=link))
        Task.objects.filter(pk__in=[task.pk for task in tasks]).update(reminded_at=now)
        if emails:
            transaction.on_commit(lambda: _send_quietly(emails))
    return len(tasks)


def tasks_send_reminders(*, now: datetime | None = None, limit: int = REMINDER_BATCH) -> int:
    """task_reminders_send for every organization, each in its own tenant context and
    transaction. Returns how many tasks were reminded in all."""
    now = now or timezone.now()
    sent = 0
    for org in Organization.objects.order_by("pk").iterator():
        sent += task_reminders_send(org=org, now=now, limit=limit)
    return sent
