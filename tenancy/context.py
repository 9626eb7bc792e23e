"""The current organization (tenant) of this request or task.

A `contextvars` variable holds the organization; `tenant_context` sets it, opens a transaction
and tells PostgreSQL the tenant for row-level security with a transaction-local `set_config`.
Middleware uses it around each request under /o/<slug>/, Celery tasks around their work.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from django.db import connection, transaction

if TYPE_CHECKING:
    from tenancy.models import Organization

_current_org: ContextVar[Organization | None] = ContextVar("current_org", default=None)
_current_user_id: ContextVar[int | None] = ContextVar("current_user_id", default=None)


class TenantNotSetError(RuntimeError):
    """A tenant-owned table was queried with no organization in context."""


def current_org() -> Organization | None:
    return _current_org.get()


def current_org_id() -> int | None:
    org = _current_org.get()
    return org.pk if org is not None else None


def require_org() -> Organization:
    org = _current_org.get()
    if org is None:
        raise TenantNotSetError(
            "No organization is set. Wrap the code in tenancy.context.tenant_context(org), "
            "or use the model's `unscoped` manager in admin and maintenance code."
        )
    return org


def _set_db_tenant(
    org_id: int | None, user_id: int | None, *, parallel_workers: int | None = None
) -> None:
    if connection.vendor != "postgresql":
        return
    sql = "SELECT set_config('app.tenant_id', %s, true), set_config('app.user_id', %s, true)"
    params = ["" if org_id is None else str(org_id), "" if user_id is None else str(user_id)]
    if parallel_workers is not None:  # in the same round trip
        sql += ", set_config('max_parallel_workers_per_gather', %s, true)"
        params.append(str(parallel_workers))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@contextmanager
def tenant_context(
    org: Organization | None, *, user_id: int | None = None, parallel_workers: int | None = None
) -> Iterator[None]:
    """Run the block as `org` (and, for membership lookups, as `user_id`) in one transaction.

    The PostgreSQL settings are transaction-local; on exit they are put back to the enclosing
    context's values so that an outer transaction (a test, a nested call) sees what it set.
    `parallel_workers`: PostgreSQL's max_parallel_workers_per_gather for the transaction (web
    requests: settings.WEB_PARALLEL_WORKERS_PER_GATHER); None keeps the server's. Unlike the
    tenant it is not put back on exit (that would cost a query to read it first): it lasts to
    the end of the outermost transaction, which for a request is this one.
    """
    previous_org = _current_org.get()
    previous_user = _current_user_id.get()
    org_token = _current_org.set(org)
    user_token = _current_user_id.set(user_id if user_id is not None else previous_user)
    try:
        with transaction.atomic():
            _set_db_tenant(
                org.pk if org is not None else None,
                _current_user_id.get(),
                parallel_workers=parallel_workers,
            )
            try:
                yield
            finally:
                if connection.in_atomic_block and not connection.needs_rollback:
                    _set_db_tenant(
                        previous_org.pk if previous_org is not None else None, previous_user
                    )
    finally:
        _current_org.reset(org_token)
        _current_user_id.reset(user_token)


@contextmanager
def user_context(user_id: int | None) -> Iterator[None]:
    """Let the block read the memberships of `user_id` across organizations (no tenant)."""
    with tenant_context(None, user_id=user_id):
        yield


@contextmanager
def tenant_context_for(org_id: int) -> Iterator[Organization]:
    """For Celery tasks, which take ids: load the organization and run the block as it."""
    from tenancy.models import Organization

    org = Organization.objects.get(pk=org_id)
    with tenant_context(org):
        yield org
