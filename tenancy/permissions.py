"""Roles and the one permission matrix (role x capability).

Views declare the capability they need with `require_capability`; templates read the same matrix
through the `can` context variable, so a button is hidden exactly when its view would refuse.
"""

from collections.abc import Callable
from enum import StrEnum
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Manager")
    SALES = "sales", _("Sales rep")
    MARKETING = "marketing", _("Marketer")
    SUPPORT = "support", _("Support agent")


class Capability(StrEnum):
    VIEW_CUSTOMERS = "view_customers"
    EDIT_CUSTOMERS = "edit_customers"
    LOG_INTERACTIONS = "log_interactions"
    IMPORT_DATA = "import_data"
    EXPORT_DATA = "export_data"
    MERGE_CUSTOMERS = "merge_customers"
    MANAGE_PRIVACY = "manage_privacy"
    WORK_SALES = "work_sales"
    CONFIGURE_SALES = "configure_sales"
    WORK_MARKETING = "work_marketing"
    WORK_SERVICE = "work_service"
    VIEW_DASHBOARDS = "view_dashboards"
    RUN_ANALYTICS = "run_analytics"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_SETTINGS = "manage_settings"


_ALL = frozenset(Role)

PERMISSIONS: dict[Capability, frozenset[Role]] = {
    Capability.VIEW_CUSTOMERS: _ALL,
    Capability.EDIT_CUSTOMERS: frozenset({Role.ADMIN, Role.MANAGER, Role.SALES, Role.SUPPORT}),
    Capability.LOG_INTERACTIONS: _ALL,
    Capability.IMPORT_DATA: frozenset({Role.ADMIN}),
    Capability.EXPORT_DATA: frozenset({Role.ADMIN, Role.MANAGER, Role.MARKETING}),
    Capability.MERGE_CUSTOMERS: frozenset({Role.ADMIN, Role.MANAGER}),
    Capability.MANAGE_PRIVACY: frozenset({Role.ADMIN}),
    Capability.WORK_SALES: frozenset({Role.ADMIN, Role.MANAGER, Role.SALES}),
    Capability.CONFIGURE_SALES: frozenset({Role.ADMIN, Role.MANAGER}),
    Capability.WORK_MARKETING: frozenset({Role.ADMIN, Role.MANAGER, Role.MARKETING}),
    Capability.WORK_SERVICE: frozenset({Role.ADMIN, Role.MANAGER, Role.SUPPORT}),
    Capability.VIEW_DASHBOARDS: frozenset({Role.ADMIN, Role.MANAGER}),
    Capability.RUN_ANALYTICS: frozenset({Role.ADMIN}),
    Capability.MANAGE_MEMBERS: frozenset({Role.ADMIN}),
    Capability.MANAGE_SETTINGS: frozenset({Role.ADMIN}),
}


def role_can(role: str | None, capability: Capability) -> bool:
    return role is not None and Role(role) in PERMISSIONS[capability]


class RoleCapabilities:
    """What one role may do, for templates: `{% if can.manage_members %}`."""

    def __init__(self, role: str | None) -> None:
        self.role = role

    def __getattr__(self, name: str) -> bool:
        try:
            capability = Capability(name)
        except ValueError:
            raise AttributeError(name) from None
        return role_can(self.role, capability)


def require_capability(capability: Capability) -> Callable:
    """View decorator: the member's role must have `capability`, or the view answers 403.

    Non-members never reach the view: TenantMiddleware answers 404 for them.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            membership = getattr(request, "membership", None)
            if membership is None or not role_can(membership.role, capability):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.required_capability = capability  # read by the role-matrix tests
        return wrapped

    return decorator
