from datetime import date

import pytest
from django.urls import reverse

from analytics.models import AnalyticsRun, RunStatus
from tenancy.context import tenant_context
from tests.analytics.test_pipeline import AS_OF, _history

pytestmark = pytest.mark.django_db


def test_an_admin_runs_scoring_now_and_sees_the_run(
    org_a, admin_a, client_for, django_capture_on_commit_callbacks
):
    _history(org_a, customers=30)
    client = client_for(admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("analytics:run-now", kwargs={"org_slug": org_a.slug}))
    assert response.status_code == 302
    with tenant_context(org_a):
        run = AnalyticsRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED
    page = client.get(reverse("analytics:run-list", kwargs={"org_slug": org_a.slug}))
    assert page.status_code == 200
    assert b"Customers scored" in page.content


def test_the_status_partial_reports_a_running_job(org_a, admin_a, client_for):
    with tenant_context(org_a):
        run = AnalyticsRun.objects.create(organization=org_a, as_of=date(2026, 6, 30))
    response = client_for(admin_a).get(
        reverse("analytics:run-status", kwargs={"org_slug": org_a.slug, "pk": run.pk}),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "HX-Refresh" not in response


def test_managers_cannot_run_scoring(org_a, alice, client_for):
    response = client_for(alice).post(reverse("analytics:run-now", kwargs={"org_slug": org_a.slug}))
    assert response.status_code == 403


def test_the_run_list_costs_the_same_queries_for_many_runs(
    org_a, admin_a, client_for, django_assert_max_num_queries
):
    client = client_for(admin_a)
    url = reverse("analytics:run-list", kwargs={"org_slug": org_a.slug})
    with tenant_context(org_a):
        for day in range(1, 4):
            AnalyticsRun.objects.create(
                organization=org_a, as_of=date(2026, 1, day), status="succeeded"
            )
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # the first request also saves the session's last organization
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    with tenant_context(org_a):
        for day in range(4, 28):
            AnalyticsRun.objects.create(
                organization=org_a, as_of=date(2026, 1, day), status="succeeded"
            )
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(few) == len(many)


def test_scored_customers_explain_their_churn_reasons(org_a, alice, client_for):
    customers = _history(org_a, customers=40)
    from analytics.pipeline import analytics_run

    analytics_run(org=org_a, as_of=AS_OF)
    with tenant_context(org_a):
        from analytics.models import CustomerScore

        score = CustomerScore.objects.exclude(churn_reason_1="").select_related("customer").first()
    assert score is not None
    customer = score.customer
    page = client_for(alice).get(customer.get_absolute_url())
    assert b'data-testid="churn-reasons"' in page.content
    assert customers
