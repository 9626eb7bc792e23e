"""crm_site.text_lookups.IContains: the customer list's search, as ILIKE on PostgreSQL."""

import pytest
from django.db import connection
from django.db.models import F

from crm_site.text_lookups import IContains
from customers.models import Customer
from tests.factories import CustomerFactory


@pytest.fixture
def names(in_org_a, org_a):
    for name in ["Garcia Foods", "GARCIA TOOLS", "100% Juice", "snake_case Ltd", "Other"]:
        CustomerFactory(organization=org_a, name=name)


def _names(text: str) -> set[str]:
    return set(Customer.objects.filter(IContains(F("name"), text)).values_list("name", flat=True))


def test_it_ignores_case(names):
    assert _names("garcia") == {"Garcia Foods", "GARCIA TOOLS"}


def test_it_takes_wildcards_literally(names):
    assert _names("%") == {"100% Juice"}
    assert _names("_") == {"snake_case Ltd"}
    assert _names("e_c") == {"snake_case Ltd"}


def test_it_writes_ilike_on_postgresql(names):
    sql = str(Customer.objects.filter(IContains(F("name"), "x")).query)

    assert (" ILIKE " in sql) is (connection.vendor == "postgresql")
