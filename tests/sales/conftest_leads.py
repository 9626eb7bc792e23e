"""Fixtures of the leads tests, imported by each tests/sales/test_leads_*.py module."""

import pytest

from tenancy.context import tenant_context

HTMX = {"HX-Request": "true"}


@pytest.fixture
def in_org_a(org_a):
    """Run the test body as org A, as a request or a task would (services and selectors)."""
    with tenant_context(org_a):
        yield org_a
