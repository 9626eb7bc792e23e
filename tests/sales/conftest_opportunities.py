"""Fixtures of the opportunities tests. Each tests/sales/test_opportunities_*.py module star-
imports them (a named import would be redefined by the test's parameter of the same name)."""

import pytest

from tenancy.context import tenant_context
from tests.sales.factories_opportunities import default_pipeline

__all__ = ["in_org_a", "stages_a", "tenant_reads_as_org_a"]


@pytest.fixture
def in_org_a(org_a):
    """Run the test body as org A, as a request or a task would."""
    with tenant_context(org_a):
        yield org_a


@pytest.fixture
def stages_a(org_a):
    """Org A's default pipeline's stages: Prospecting 10, Qualification 20, Needs analysis 40,
    Proposal 60, Negotiation 80, Closed won 100 (won), Closed lost 0 (lost)."""
    return default_pipeline(org_a)[1]


@pytest.fixture
def tenant_reads_as_org_a(org_a):
    """The test body reads as org A, so that PostgreSQL row-level security shows it org A's rows
    (requests set their own organization and put this one back)."""
    with tenant_context(org_a):
        yield
