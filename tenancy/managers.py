"""Managers for tenant-owned models: the first wall of tenant isolation."""

from django.db import models

from tenancy.context import require_org


class TenantQuerySet(models.QuerySet):
    pass


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """The default manager of tenant-owned models.

    Every query is filtered to the organization in context; with none set it raises
    TenantNotSetError instead of returning every tenant's rows.
    """

    def get_queryset(self) -> TenantQuerySet:
        return super().get_queryset().filter(organization_id=require_org().pk)


class UnscopedManager(models.Manager.from_queryset(TenantQuerySet)):
    """Every organization's rows. For admin and maintenance code only; PostgreSQL row-level
    security still applies, so cross-tenant work must set each tenant in turn."""
