"""Search on a PostgreSQL database whose text functions are not LEAKPROOF: under row-level
security only comparisons of plain columns use an index, so names, emails and phone numbers
are found by how they start (crm_site.search.text_search_indexes_usable)."""

import pytest
from django.db import connection
from django.urls import reverse

from crm_site import search as registry
from customers.search import CONTACTS, CUSTOMERS, _candidates, terms
from tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the strategies are PostgreSQL's"
)


@pytest.fixture(autouse=True)
def _prefix_only(monkeypatch):
    monkeypatch.setattr("customers.search.text_search_indexes_usable", lambda: False)


@pytest.fixture
def data(org_a, org_b):
    garcia = CustomerFactory(
        organization=org_a,
        name="Garcia Foods Ltd",
        email="orders@garciafoods.example",
        phone_normalized="15550102000",
    )
    CustomerFactory(organization=org_a, name="Maria Lopez", email="maria.lopez@mail.example")
    CustomerFactory(organization=org_a, name="Garcia Duplicate", merged_into=garcia)
    ContactFactory(customer=garcia, first_name="Laura", last_name="Garcia", email="l@g.example")
    CustomerFactory(organization=org_b, name="Garcia Beta", phone_normalized="15550102000")


def _titles(response) -> dict[str, list[str]]:
    return {g.kind: [h.title for h in g.hits] for g in response.context["results"].groups}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("garc", {"customer": ["Garcia Foods Ltd"], "contact": ["Laura Garcia"]}),
        ("GARCIA", {"customer": ["Garcia Foods Ltd"], "contact": ["Laura Garcia"]}),
        ("Garcia Foods", {"customer": ["Garcia Foods Ltd"]}),
        ("ga", {"customer": ["Garcia Foods Ltd"], "contact": ["Laura Garcia"]}),
        ("orders@garc", {"customer": ["Garcia Foods Ltd"]}),
        ("maria.lopez@mail.example", {"customer": ["Maria Lopez"]}),
        ("1555010", {"customer": ["Garcia Foods Ltd"]}),
        ("+1 (555) 010-2000", {"customer": ["Garcia Foods Ltd"]}),
        ("foods", {}),  # not a prefix: the full strategy's territory
    ],
)
def test_it_finds_what_starts_with_the_text(query, expected, data, alice, client_for, org_a):
    response = client_for(alice).get(reverse("search", args=[org_a.slug]), {"q": query})

    assert _titles(response) == expected


def test_its_candidates_are_range_scans_of_plain_columns(org_a):
    for searchable in (CUSTOMERS, CONTACTS):
        sql, _params = _candidates(searchable, org_a, terms("garcia"), indexed=False, wanted=9)
        assert " LIKE " not in sql and "<%" not in sql and "@@" not in sql and "lower(" not in sql


def test_the_leakproof_check_reads_the_catalog(monkeypatch, db):
    monkeypatch.setattr(registry, "_indexes_usable", {})
    with connection.cursor() as cursor:
        cursor.execute("SELECT proleakproof FROM pg_proc WHERE oid = 'texticlike'::regproc")
        leakproof = cursor.fetchone()[0]

    assert registry.text_search_indexes_usable() in (False, leakproof)
    assert registry._indexes_usable == {"default": leakproof}
