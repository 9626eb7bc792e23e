"""Global search: one box over customers and contacts, grouped by kind, never another tenant's."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm_site import search as registry
from crm_site.search import MAX_QUERY_LENGTH, SearchHit, global_search, normalize_query
from tenancy.context import tenant_context
from tenancy.permissions import Capability, Role
from tests.factories import ContactFactory, CustomerFactory

HTMX = {"HX-Request": "true"}
postgres_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="trigram and full-text search are PostgreSQL's"
)


def _url(org) -> str:
    return reverse("search", kwargs={"org_slug": org.slug})


@pytest.fixture
def garcia_foods(org_a):
    return CustomerFactory(
        organization=org_a,
        name="Garcia Foods Ltd",
        email="orders@garciafoods.example",
        phone="+1 (555) 010-2000",
        phone_normalized="15550102000",
        city="Austin",
    )


@pytest.fixture
def people(org_a, garcia_foods):
    """A second customer, a contact at the first, a merged duplicate and org B's namesake."""
    maria = CustomerFactory(
        organization=org_a,
        kind="individual",
        name="Maria Lopez",
        email="maria.lopez@mail.example",
        phone="+44 20 7946 0958",
        phone_normalized="442079460958",
    )
    laura = ContactFactory(
        customer=garcia_foods,
        first_name="Laura",
        last_name="Garcia",
        title="Head of Purchasing",
        email="laura@garciafoods.example",
        phone="+1 555 444 3322",
        phone_normalized="15554443322",
    )
    duplicate = CustomerFactory(
        organization=org_a, name="Garcia Foods (duplicate)", merged_into=garcia_foods
    )
    return {"maria": maria, "laura": laura, "duplicate": duplicate}


@pytest.fixture
def org_b_namesake(org_b):
    return CustomerFactory(
        organization=org_b,
        name="Garcia Foods Beta",
        email="garcia@beta.example",
        phone="+1 (555) 010-2000",
        phone_normalized="15550102000",
    )


def _groups(response) -> dict[str, list[str]]:
    return {
        group.kind: [hit.title for hit in group.hits]
        for group in response.context["results"].groups
    }


# --- What it finds ------------------------------------------------------------------------


def test_it_groups_results_by_kind_with_headings(people, alice, client_for, org_a):
    response = client_for(alice).get(_url(org_a), {"q": "garcia"})

    assert response.status_code == 200
    assert _groups(response) == {"customer": ["Garcia Foods Ltd"], "contact": ["Laura Garcia"]}
    page = response.content.decode()
    assert page.index('id="search-group-customer"') < page.index('id="search-group-contact"')
    assert ">Customers</h2>" in page and ">Contacts</h2>" in page
    customer = people["laura"].customer
    assert reverse("customers:customer-detail", args=[org_a.slug, customer.pk]) in page
    assert reverse("customers:contact-detail", args=[org_a.slug, people["laura"].pk]) in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Maria Lopez", {"customer": ["Maria Lopez"]}),
        ("lopez", {"customer": ["Maria Lopez"]}),
        ("maria.lopez@mail", {"customer": ["Maria Lopez"]}),
        ("maria.lopez@mail.example", {"customer": ["Maria Lopez"]}),
        ("garciafoods", {"customer": ["Garcia Foods Ltd"], "contact": ["Laura Garcia"]}),
        ("0102000", {"customer": ["Garcia Foods Ltd"]}),
        ("+1 (555) 010-2000", {"customer": ["Garcia Foods Ltd"]}),
        ("7946 0958", {"customer": ["Maria Lopez"]}),
        ("555 444 3322", {"contact": ["Laura Garcia"]}),
        ("laura@garciafoods.example", {"contact": ["Laura Garcia"]}),
    ],
)
def test_it_finds_names_emails_and_phone_numbers(query, expected, people, alice, client_for, org_a):
    response = client_for(alice).get(_url(org_a), {"q": query})

    assert _groups(response) == expected


def test_a_short_query_finds_names_that_start_with_it(people, alice, client_for, org_a):
    response = client_for(alice).get(_url(org_a), {"q": "ga"})

    # "Laura Garcia" has no name starting with "ga"; "Maria Lopez" contains no "ga" at all.
    assert _groups(response) == {"customer": ["Garcia Foods Ltd"]}


def test_the_best_match_comes_first(org_a, alice, client_for):
    for name in ["Smithson Tools", "Anna Smith", "Smith", "Blacksmith Works"]:
        CustomerFactory(organization=org_a, name=name)

    response = client_for(alice).get(_url(org_a), {"q": "smith"})

    titles = _groups(response)["customer"]
    assert titles[0] == "Smith"
    assert set(titles) >= {"Smith", "Smithson Tools", "Anna Smith", "Blacksmith Works"}


@postgres_only
def test_it_forgives_a_typo_in_a_name(people, alice, client_for, org_a):
    response = client_for(alice).get(_url(org_a), {"q": "garcis"})

    assert "Garcia Foods Ltd" in _groups(response)["customer"]


@postgres_only
def test_it_matches_every_word_in_any_order(people, alice, client_for, org_a):
    response = client_for(alice).get(_url(org_a), {"q": "foods garcia"})

    assert _groups(response)["customer"] == ["Garcia Foods Ltd"]


def test_it_links_to_the_customer_list_when_a_kind_has_more(org_a, alice, client_for):
    for i in range(12):
        CustomerFactory(organization=org_a, name=f"Northwind {i:02}")

    response = client_for(alice).get(_url(org_a), {"q": "northwind"})

    group = response.context["results"].groups[0]
    assert (group.kind, len(group.hits), group.has_more) == ("customer", 8, True)
    see_all = reverse("customers:customer-list", args=[org_a.slug]) + "?q=northwind"
    assert group.see_all_url == see_all
    assert f'href="{see_all}"' in response.content.decode()


# --- What it never shows ------------------------------------------------------------------


def test_it_leaves_out_merged_customers(people, alice, client_for, org_a):
    response = client_for(alice).get(_url(org_a), {"q": "duplicate"})

    assert _groups(response) == {}
    assert "Nothing matches" in response.content.decode()


def test_it_hides_other_organizations_customers(
    people, org_b_namesake, org_b, alice, client_for, org_a
):
    beta_url = reverse("customers:customer-detail", args=[org_b.slug, org_b_namesake.pk])
    for query in ["garcia", "Garcia Foods Beta", "garcia@beta.example", "5550102000", "ga"]:
        response = client_for(alice).get(_url(org_a), {"q": query})
        hits = [hit for group in response.context["results"].groups for hit in group.hits]
        assert all("Beta" not in hit.title and "beta" not in hit.subtitle for hit in hits), query
        assert beta_url not in response.content.decode()
        assert f"/customers/{org_b_namesake.pk}/" not in response.content.decode()


def test_a_member_of_another_organization_gets_404(people, mallory, client_for, org_a):
    response = client_for(mallory).get(_url(org_a), {"q": "garcia"})

    assert response.status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(client, org_a):
    response = client.get(_url(org_a), {"q": "garcia"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", list(Role))
def test_every_role_may_search(role, member_of, client_for, people, org_a):
    user = member_of(org_a, role)

    response = client_for(user).get(_url(org_a), {"q": "garcia"})

    assert response.status_code == 200
    assert "Garcia Foods Ltd" in response.content.decode()


# --- Robustness and cost ------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "a",
        "%",
        "_",
        "\\",
        "%_\\%",
        "'; DROP TABLE customers_customer; --",
        "abc\x00def",
        "!!!",
        "-",
        '"',
        'a:b & c | !d <-> "e',
        "ü",
        "客户",
        "😀😀😀",
        "x" * 5000,
        "@",
        "+",
        "()",
        "12",
        "1234567890" * 30,
    ],
)
def test_odd_queries_do_not_fail(query, people, alice, client_for, org_a):
    response = client_for(alice).get(_url(org_a), {"q": query})

    assert response.status_code == 200
    assert len(response.context["search_query"]) <= MAX_QUERY_LENGTH


def test_a_long_query_is_cut_to_200_characters():
    assert normalize_query("  a\tb\x00c  " + "d" * 500) == ("a b c " + "d" * 500)[:200]
    assert normalize_query(None) == ""


def test_the_query_count_does_not_grow_with_the_matches(org_a, alice, client_for):
    def make(count: int, start: int) -> None:
        for i in range(start, start + count):
            customer = CustomerFactory(organization=org_a, name=f"Harbor Supply {i}")
            ContactFactory(customer=customer, first_name="Harbor", last_name=f"Person {i}")

    client = client_for(alice)
    client.get(_url(org_a))  # the first visit of the organization also saves the session
    make(10, 0)
    with CaptureQueriesContext(connection) as ten:
        client.get(_url(org_a), {"q": "harbor"})
    make(90, 10)
    with CaptureQueriesContext(connection) as hundred:
        response = client.get(_url(org_a), {"q": "harbor"})

    assert [len(g.hits) for g in response.context["results"].groups] == [8, 8]
    assert len(hundred) == len(ten), [q["sql"][:120] for q in hundred.captured_queries]
    # the shell (session, user, membership, tenant, the bell) + one query per search provider
    # (customers, contacts, leads, opportunities) and the tenant reset
    assert len(ten) <= 17


# --- Pages and fragments ------------------------------------------------------------------


def test_the_page_works_without_javascript(people, alice, client_for, org_a):
    response = client_for(alice).get(_url(org_a), {"q": "garcia"})

    page = response.content.decode()
    assert "<html" in page
    assert f'action="{_url(org_a)}"' in page and 'name="q"' in page
    assert 'value="garcia"' in page


def test_the_top_bar_dropdown_is_a_fragment(people, alice, client_for, org_a):
    response = client_for(alice).get(
        _url(org_a), {"q": "garcia"}, headers={**HTMX, "HX-Target": "global-search-results"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'data-testid="search-dropdown"' in page
    assert "Garcia Foods Ltd" in page and "Laura Garcia" in page
    assert f"{_url(org_a)}?q=garcia" in page  # "Show all results"


def test_an_empty_dropdown_request_renders_nothing(alice, client_for, org_a):
    response = client_for(alice).get(
        _url(org_a), {"q": " "}, headers={**HTMX, "HX-Target": "global-search-results"}
    )

    assert response.content.decode().strip() == ""


def test_the_results_page_swaps_only_its_results(people, alice, client_for, org_a):
    response = client_for(alice).get(
        _url(org_a), {"q": "garcia"}, headers={**HTMX, "HX-Target": "search-results"}
    )

    page = response.content.decode()
    assert "<html" not in page and "<form" not in page
    assert 'data-testid="search-group-customer"' in page


def test_every_page_has_the_search_box_in_the_top_bar(alice, client_for, org_a):
    page = client_for(alice).get(reverse("tenancy:home", args=[org_a.slug])).content.decode()

    assert "data-global-search" in page
    assert f'hx-get="{_url(org_a)}"' in page
    assert 'hx-trigger="keyup changed delay:250ms, search"' in page
    assert 'data-testid="global-search-link"' in page  # the phone-sized icon


# --- The registry -------------------------------------------------------------------------


def test_providers_are_offered_only_to_roles_that_may_use_them(monkeypatch, org_a, carol, bob):
    monkeypatch.setattr(registry, "_providers", dict(registry._providers))

    @registry.register_provider("ticket", "Tickets", order=30, capability=Capability.WORK_SERVICE)
    def tickets(org, query, limit):
        return [SearchHit(kind="ticket", label="Ticket", url="/t/1/", title=f"About {query}")]

    with tenant_context(org_a):
        support = global_search(org=org_a, role=Role.SUPPORT, query="printer")
        sales = global_search(org=org_a, role=Role.SALES, query="printer")

    assert [g.kind for g in support.groups] == ["ticket"]
    assert sales.groups == []


def test_the_substring_candidates_are_planned_for_all_their_rows(org_a):
    # With `LIMIT 100` inside, PostgreSQL chose a sequential scan "until 100 are found", which
    # for a text matching nothing (a phone number among names) read every contact: 6-9 s at a
    # million. In a MATERIALIZED CTE it is planned for all rows (the GIN indexes) and read only
    # as far as the LIMIT outside.
    from customers.search import CONTACTS, CUSTOMERS, _candidates, terms

    for searchable in (CUSTOMERS, CONTACTS):
        sql, params = _candidates(searchable, org_a, terms("5550102"), indexed=True, wanted=9)
        cte = sql.split("substring_matches AS MATERIALIZED (", 1)[1].split("), direct AS", 1)[0]
        assert " ILIKE " in cte and "LIMIT" not in cte
        assert "(SELECT id FROM substring_matches LIMIT 100)" in sql
        assert sql.count("%s") == len(params)


def test_the_full_text_candidates_are_looked_up_for_more_than_one_word_only(org_a):
    # One word is a substring of the name or the email whenever it is a word of either: the
    # full-text index would add a third bitmap of the same rows.
    from customers.search import CUSTOMERS, _candidates, terms

    one, _params = _candidates(CUSTOMERS, org_a, terms("garcia"), indexed=True, wanted=9)
    two, _params = _candidates(CUSTOMERS, org_a, terms("foods garcia"), indexed=True, wanted=9)
    email, _params = _candidates(CUSTOMERS, org_a, terms("laura@garcia"), indexed=True, wanted=9)

    assert "websearch_to_tsquery" not in one
    assert "websearch_to_tsquery" in two and "websearch_to_tsquery" in email
    assert terms("garcia").one_word and terms("Müller2").one_word
    assert not terms("o'brien").one_word and not terms("snake_case").one_word


def test_the_fuzzy_candidates_are_planned_for_all_their_rows(org_a):
    # With `LIMIT 100` inside, PostgreSQL expected one contact in a hundred to be like any
    # text and scanned "until 100 are found": for an email address, like nobody's name, every
    # contact of the tenant (0.8 s at a million). In a MATERIALIZED CTE it is planned for all
    # rows (the trigram index) and read only as far as the LIMIT outside.
    from customers.search import CONTACTS, CUSTOMERS, _candidates, terms

    for searchable in (CUSTOMERS, CONTACTS):
        sql, params = _candidates(searchable, org_a, terms("julia.ferrari"), indexed=True, wanted=9)
        cte = sql.split("fuzzy_matches AS MATERIALIZED (", 1)[1].split(") SELECT id FROM", 1)[0]
        assert " <%% " in cte and "(SELECT count(*) FROM direct) < %s" in cte
        assert "LIMIT" not in cte
        assert "(SELECT id FROM fuzzy_matches LIMIT 100)" in sql
        assert sql.count("%s") == len(params)


@pytest.mark.parametrize(
    ("text", "fuzzy"),
    [
        ("garcai", True),
        ("julia.ferrari", True),
        ("julia.ferrari18892", False),
        ("laura@garcia.example", False),
        ("555 0102", False),
        ("ACME2000", False),
    ],
)
def test_a_text_with_a_digit_or_an_at_sign_gets_no_fuzzy_name_scan(text, fuzzy, org_a):
    # An email address, a phone number or a code is like no misspelt name: the fuzzy scan found
    # nothing for them and cost 15 ms a table at a million.
    from customers.search import CONTACTS, CUSTOMERS, _candidates, terms

    assert terms(text).fuzzy is fuzzy
    for searchable in (CUSTOMERS, CONTACTS):
        sql, params = _candidates(searchable, org_a, terms(text), indexed=True, wanted=9)
        assert ("fuzzy_matches" in sql) is fuzzy
        assert ("<%%" in sql) is fuzzy
        assert sql.count("%s") == len(params)


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@postgres_only
@pytest.mark.parametrize("kind", ["customer", "contact"])
def test_the_candidates_are_looked_up_once_whatever_the_plan(kind, people, org_a):
    # The tables of the test database are never analyzed, like a new organization's before
    # autovacuum gets to them: the planner takes the tenant for one row. Inlined, the candidates
    # were run again for each of the tenant's rows (a nested loop: 230 ms for 300 customers).
    import json

    from customers.search import contact_search, customer_search

    for n in range(30):
        CustomerFactory(organization=org_a, name=f"Anna Filler {n}")
    search = customer_search if kind == "customer" else contact_search
    with tenant_context(org_a), CaptureQueriesContext(connection) as queries:
        found = search(org=org_a, query="garcia", limit=9)
    assert found  # the search itself still works
    sql = next(
        q["sql"] for q in queries.captured_queries if "candidates AS MATERIALIZED" in q["sql"]
    )
    with tenant_context(org_a), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    lookups = [n for n in _nodes(plan) if n.get("Subplan Name") == "CTE candidates"]
    assert len(lookups) == 1
    assert lookups[0]["Actual Loops"] == 1
    # Each part at most once (not at all: the fuzzy scan when the direct matches are enough).
    assert max(node["Actual Loops"] for node in _nodes(lookups[0])) == 1
