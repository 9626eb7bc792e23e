"""TenantMiddleware: one transaction per organization request, with the tenant set in it."""

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path

from crm_site.urls import urlpatterns as site_patterns
from tenancy.context import current_org, tenant_context
from tenancy.models import ActivityEvent, ActivityVerb
from tenancy.services import activity_record


def _write_then_fail(request, org_slug: str):
    activity_record(
        org=request.organization, actor=request.user, verb=ActivityVerb.MEMBER_JOINED, target="x"
    )
    raise RuntimeError("the view failed after writing")


def _write(request, org_slug: str):
    activity_record(
        org=request.organization, actor=request.user, verb=ActivityVerb.MEMBER_JOINED, target="x"
    )
    return HttpResponse("written")


def _what_the_view_sees(request, org_slug: str):
    with connection.cursor() as cursor:
        in_transaction = connection.in_atomic_block
        if connection.vendor == "postgresql":
            cursor.execute("SELECT current_setting('app.tenant_id', true)")
            db_tenant = cursor.fetchone()[0]
        else:
            db_tenant = str(current_org().pk)
    return HttpResponse(f"{current_org().slug} {db_tenant} {in_transaction}")


def _parallel_workers(request, org_slug: str):
    if connection.vendor != "postgresql":
        return HttpResponse("n/a")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('max_parallel_workers_per_gather')")
        return HttpResponse(cursor.fetchone()[0])


test_patterns = [
    path("parallel/", _parallel_workers),
    path("write-then-fail/", _write_then_fail),
    path("write/", _write),
    path("whoami/", _what_the_view_sees),
]

urlpatterns = [
    path("o/<slug:org_slug>/test/", include(test_patterns)),
    *site_patterns,
]

pytestmark = pytest.mark.urls(__name__)


def _events(org) -> int:
    with tenant_context(org):
        return ActivityEvent.objects.count()


def test_the_view_runs_in_a_transaction_with_the_tenant_set(org_a, admin_a, client_for):
    response = client_for(admin_a).get("/o/org-a/test/whoami/")

    assert response.content.decode() == f"org-a {org_a.pk} True"


def test_it_keeps_the_writes_of_a_request_that_succeeds(org_a, admin_a, client_for):
    response = client_for(admin_a).post("/o/org-a/test/write/")

    assert response.status_code == 200
    assert _events(org_a) == 1


def test_it_rolls_back_the_writes_of_a_request_that_fails(org_a, admin_a, client_for):
    client = client_for(admin_a)
    client.raise_request_exception = False

    response = client.post("/o/org-a/test/write-then-fail/")

    assert response.status_code == 500
    assert _events(org_a) == 0


def test_the_tenant_does_not_outlive_the_request(org_a, admin_a, client_for):
    client_for(admin_a).get("/o/org-a/test/whoami/")
    assert current_org() is None


def test_a_request_that_fails_outside_an_organization_leaves_the_connection_usable(
    admin_a, client_for
):
    # Only a transaction the middleware opened is marked for rollback: an anonymous request has
    # none, and marking the enclosing one would break whatever runs next on the connection.
    anonymous = Client(raise_request_exception=False)
    signed_in = client_for(admin_a)

    assert anonymous.get("/join/nowhere/token/").status_code == 404
    assert signed_in.get("/join/nowhere/token/").status_code == 404
    assert anonymous.get("/healthz").status_code == 200
    assert signed_in.get("/").status_code == 302


@pytest.fixture
def workers_given(monkeypatch):
    """The parallel_workers that TenantMiddleware passes to tenant_context, request by request."""
    from tenancy import middleware

    given = []

    def recording(*args, parallel_workers=None, **kwargs):
        given.append(parallel_workers)
        return tenant_context(*args, parallel_workers=parallel_workers, **kwargs)

    monkeypatch.setattr(middleware, "tenant_context", recording)
    return given


def _server_parallel_workers() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        return cursor.fetchone()[0]


@pytest.mark.parametrize(("setting", "expected"), [(0, 0), (1, 1), (-1, None)])
def test_web_requests_run_with_the_configured_parallel_workers(
    setting, expected, org_a, admin_a, client_for, settings, workers_given
):
    # -1 leaves the server's own setting (None: tenant_context sets nothing).
    settings.WEB_PARALLEL_WORKERS_PER_GATHER = setting
    server = _server_parallel_workers() if connection.vendor == "postgresql" else None

    response = client_for(admin_a).get("/o/org-a/test/parallel/")

    assert workers_given == [expected]
    if connection.vendor == "postgresql":  # what the view's queries ran with
        assert response.content.decode() == (server if expected is None else str(expected))
    else:  # SQLite has no parallel plans: the middleware asks, tenant_context sets nothing
        assert response.content.decode() == "n/a"
