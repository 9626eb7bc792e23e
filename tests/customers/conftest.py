"""Shared set-up of the customers tests: the organization in context, the roles the base cast
lacks (a marketer), and the htmx request headers."""

import pytest

from tenancy.context import tenant_context
from tenancy.permissions import Role

HTMX = {"HX-Request": "true"}


@pytest.fixture
def in_org_a(org_a):
    """Run the test body as org A, as a request or a task would (services and selectors)."""
    with tenant_context(org_a):
        yield org_a


@pytest.fixture
def marketer(member_of, org_a):
    return member_of(org_a, Role.MARKETING, email="mia@a.example", full_name="Mia Marketing")
