"""The reminder job: every five minutes, each due reminder becomes one in-app notification and
one email for the assignee, once, in the task's own organization."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from sales import tasks as celery_tasks
from sales.models import Task
from sales.services import activities as services
from tenancy.context import tenant_context
from tenancy.models import Membership, Notification
from tests.factories import CustomerFactory
from tests.sales.factories_activities import TaskFactory


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run the job as beat would and send the emails its transactions queue."""

    def go(**kwargs) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return services.tasks_send_reminders(**kwargs)

    return go


def _due_task(org, assignee, **fields) -> Task:
    fields.setdefault("remind_at", timezone.now() - timedelta(minutes=1))
    return TaskFactory(organization=org, assignee=assignee, **fields)


def _notifications(org) -> list[Notification]:
    with tenant_context(org):
        return list(Notification.objects.order_by("pk"))


def _task(org, pk) -> Task:
    with tenant_context(org):
        return Task.objects.get(pk=pk)


def test_it_notifies_and_emails_the_assignee_once(org_a, bob, run):
    customer = CustomerFactory(organization=org_a, name="Acme Foods")
    task = _due_task(org_a, bob, title="Call Acme", customer=customer)

    assert run() == 1

    [notification] = _notifications(org_a)
    assert notification.user == bob and notification.read_at is None
    assert notification.title == "Reminder: Call Acme"
    assert "Acme Foods" in notification.body
    assert notification.link == reverse("sales:task-detail", args=[org_a.slug, task.pk])
    [email] = mail.outbox
    assert email.to == ["bob@a.example"] and email.subject == "Reminder: Call Acme"
    assert "Acme Foods" in email.body
    assert _task(org_a, task.pk).reminded_at is not None


def test_running_again_sends_nothing_more(org_a, bob, run):
    _due_task(org_a, bob)
    run()

    assert run() == 0
    assert len(_notifications(org_a)) == 1 and len(mail.outbox) == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"completed_at": timezone.now()},
        {"remind_at": timezone.now() + timedelta(minutes=10)},
        {"remind_at": None},
        {"reminded_at": timezone.now() - timedelta(days=1)},
    ],
    ids=["completed", "not-yet", "no-reminder", "already-reminded"],
)
def test_it_skips_tasks_that_need_no_reminder(fields, org_a, bob, run):
    _due_task(org_a, bob, **fields)

    assert run() == 0
    assert _notifications(org_a) == [] and mail.outbox == []


def test_it_skips_tasks_without_an_assignee_who_can_read_it(org_a, bob, carol, run):
    _due_task(org_a, None)
    _due_task(org_a, carol)
    carol.is_active = False
    carol.save(update_fields=["is_active"])
    leaver = _due_task(org_a, bob)
    with tenant_context(org_a):
        Membership.objects.filter(user=bob).delete()

    assert run() == 0
    assert _task(org_a, leaver.pk).reminded_at is None  # reminded if they come back


def test_each_organization_gets_its_own_reminders(org_a, org_b, bob, mallory, run):
    task_a = _due_task(org_a, bob, title="Alpha task")
    task_b = _due_task(org_b, mallory, title="Beta task")

    assert run() == 2

    [in_a] = _notifications(org_a)
    [in_b] = _notifications(org_b)
    assert (in_a.user, in_a.title) == (bob, "Reminder: Alpha task")
    assert (in_b.user, in_b.title) == (mallory, "Reminder: Beta task")
    assert in_b.link == reverse("sales:task-detail", args=[org_b.slug, task_b.pk])
    assert sorted(m.to[0] for m in mail.outbox) == ["bob@a.example", "mallory@b.example"]
    assert _task(org_a, task_a.pk).reminded_at and _task(org_b, task_b.pk).reminded_at


def test_a_member_of_another_organization_only_is_never_reminded_here(org_a, mallory, run):
    _due_task(org_a, mallory)  # a stale assignee from another tenant

    assert run() == 0 and _notifications(org_a) == []


def test_a_run_handles_a_bounded_batch_and_the_next_run_the_rest(org_a, bob, run):
    for n in range(5):
        _due_task(org_a, bob, remind_at=timezone.now() - timedelta(minutes=10 - n))

    assert run(limit=3) == 3
    assert run(limit=3) == 2
    assert run(limit=3) == 0
    assert len(_notifications(org_a)) == 5 and len(mail.outbox) == 5


def test_a_mail_server_failure_keeps_the_notification_and_does_not_resend(org_a, bob, run):
    _due_task(org_a, bob)

    with mock.patch.object(services, "mailers") as mailers:
        mailers.default.send_messages.side_effect = ConnectionRefusedError
        assert run() == 1

    assert len(_notifications(org_a)) == 1
    assert run() == 0


def test_changing_the_reminder_time_arms_it_again(org_a, bob, run):
    task = _due_task(org_a, bob)
    run()

    with tenant_context(org_a):
        task = Task.objects.get(pk=task.pk)
        data = {f: getattr(task, f) for f in services.TASK_FIELDS}
        services.task_update(
            task=task, by=bob, data={**data, "remind_at": timezone.now() - timedelta(seconds=5)}
        )
    assert run() == 1
    assert len(_notifications(org_a)) == 2


def test_the_celery_task_runs_the_job_and_beat_runs_it_every_five_minutes(org_a, bob, settings):
    _due_task(org_a, bob)

    assert celery_tasks.tasks_send_reminders.delay().get() == 1
    entry = next(
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "sales.tasks.tasks_send_reminders"
    )
    assert entry["schedule"].minute == set(range(0, 60, 5))


def test_the_email_links_to_the_task_on_the_site(org_a, bob, run, settings):
    settings.SITE_URL = "https://crm.example.com"
    task = _due_task(org_a, bob)

    run()

    link = "https://crm.example.com" + reverse("sales:task-detail", args=[org_a.slug, task.pk])
    assert link in mail.outbox[0].body
    assert mail.outbox[0].from_email == settings.DEFAULT_FROM_EMAIL
