"""crm_site.pagination: keyset pages walk every row exactly once, back and forth, in every sort
the customer list offers (NULLs and ties included), and a tampered cursor means page one."""

import base64
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm_site import pagination
from crm_site.pagination import (
    SortKey,
    capped_count,
    capped_ids,
    capped_values,
    count_label,
    decode_cursor,
    encode_cursor,
    keyset_page,
)
from customers.filters import SORTS
from customers.models import Customer
from customers.selectors import COARSE_SORT_KEYS
from tenancy.context import tenant_context
from tests.factories import CustomerFactory

BASE_URL = "/o/org-a/customers/"


@pytest.fixture
def in_org(org_a):
    with tenant_context(org_a):
        yield org_a


def _token(raw) -> str:
    """A cursor as a client could forge it: any JSON, base64-encoded."""
    text = raw if isinstance(raw, str) else json.dumps(raw)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


# --- Cursors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        [datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), 17],
        [date(2025, 12, 31), 1],
        [Decimal("1234.50"), 2],
        [0.4251, 3],
        ["Name with ü and spaces", 4],
        [None, 5],
    ],
    ids=["datetime", "date", "decimal", "float", "text", "null"],
)
def test_a_cursor_round_trips_its_values_and_types(values):
    token = encode_cursor(values)

    decoded = decode_cursor(token)

    assert decoded == values
    assert [type(v) for v in decoded] == [type(v) for v in values]
    assert "=" not in token  # safe in a URL without escaping


def test_a_three_part_cursor_needs_length_three():
    token = encode_cursor([timezone.now(), "interaction", 3])

    assert decode_cursor(token, length=3) is not None
    assert decode_cursor(token) is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not base64 at all!!",
        _token("not json"),
        _token({"a": 1}),
        _token([1]),
        _token([1, 2, 3]),
        _token([{"dt": "2020-13-45T99:00:00"}, 1]),
        _token([{"d": "yesterday"}, 1]),
        _token([{"dec": "abc"}, 1]),
        "%%%",
    ],
)
def test_decode_cursor_answers_none_for_garbage(token):
    assert decode_cursor(token) is None


# --- The capped count -------------------------------------------------------------------------


def test_capped_count_stops_one_past_the_cap(in_org):
    for _ in range(8):
        CustomerFactory(organization=in_org)

    assert capped_count(Customer.objects.all(), cap=5) == 6
    assert capped_count(Customer.objects.all(), cap=8) == 8
    assert capped_count(Customer.objects.all(), cap=100) == 8


@pytest.mark.parametrize("sparse", [False, True])
def test_capped_count_counts_a_filtered_list_and_an_empty_one(in_org, sparse):
    for n in range(6):
        CustomerFactory(organization=in_org, name=f"Searched {n}" if n % 2 else f"Other {n}")
    searched = Customer.objects.filter(name__icontains="searched")

    assert capped_count(searched, cap=2, sparse=sparse) == 3
    assert capped_count(searched, cap=10, sparse=sparse) == 3
    assert capped_count(Customer.objects.none(), cap=10, sparse=sparse) == 0
    assert capped_count(Customer.objects.filter(pk__in=[]), cap=10, sparse=sparse) == 0


def _count_sql(queryset, **kwargs) -> str:
    with CaptureQueriesContext(connection) as queries:
        capped_count(queryset, cap=5, **kwargs)
    (sql,) = [q["sql"] for q in queries.captured_queries if "set_config" not in q["sql"]]
    return sql


def test_capped_ids_returns_the_ids_of_the_matches_up_to_one_past_the_cap(in_org):
    rows = [CustomerFactory(organization=in_org, name=f"Searched {n}") for n in range(4)]
    CustomerFactory(organization=in_org, name="Other")
    searched = Customer.objects.filter(name__icontains="searched").order_by("name")

    assert sorted(capped_ids(searched, 10)) == sorted(c.pk for c in rows)
    assert len(capped_ids(searched, 2)) == 3
    assert set(capped_ids(searched, 2)) <= {c.pk for c in rows}
    assert capped_ids(Customer.objects.none(), 10) == []


def test_capped_values_gives_each_match_with_its_values_as_the_orm_reads_them(in_org):
    rows = [CustomerFactory(organization=in_org, name=f"Searched {n}") for n in range(3)]
    searched = Customer.objects.filter(name__icontains="searched")

    found = capped_values(searched, 10, "created_at", "name")

    # Aware datetimes that compare with a cursor's (crm_site.pagination._pick).
    assert sorted(found) == sorted((c.pk, c.created_at, c.name) for c in rows)
    assert capped_values(Customer.objects.none(), 10, "name") == []


@pytest.mark.parametrize("path", ["scores__clv", "name"])
def test_candidates_and_narrow_need_a_plain_column_that_is_never_null(path, in_org):
    nullable = path == "scores__clv"
    key = SortKey(path, descending=True, nullable=nullable)
    rows = Customer.objects.all()
    for extra in ({"candidates": []}, {"narrow": rows}):
        if nullable:
            with pytest.raises(ValueError, match="never NULL"):
                keyset_page(rows, key=key, params={}, base_url=BASE_URL, **extra)
        else:
            assert keyset_page(rows, key=key, params={}, base_url=BASE_URL, **extra).items == []


def test_a_sparse_count_on_postgresql_plans_for_all_the_matches(in_org):
    # A substring search: a MATERIALIZED CTE read up to the cap, rather than `LIMIT cap + 1`
    # inside the count, which led the planner to scan every row of the tenant for a rare text.
    searched = Customer.objects.filter(name__icontains="rare").order_by("name")

    sparse, dense = _count_sql(searched, sparse=True), _count_sql(searched)

    if connection.vendor == "postgresql":
        assert sparse.startswith("WITH matches AS MATERIALIZED (") and "ORDER BY" not in sparse
    else:
        assert sparse == dense
    assert "LIMIT 6" in dense and "MATERIALIZED" not in dense and "COUNT(" in dense.upper()


def test_count_label_says_plus_over_the_cap():
    assert count_label(0) == "0 results"
    assert count_label(1) == "1 result"
    assert count_label(9_999) == "9,999 results"
    assert count_label(10_000) == "10,000 results"
    assert count_label(10_001) == "10,000+ results"
    assert count_label(6, cap=5) == "5+ results"


def test_a_page_labels_its_count_with_the_cap(in_org, monkeypatch):
    for _ in range(7):
        CustomerFactory(organization=in_org)
    monkeypatch.setattr(pagination, "COUNT_CAP", 5)

    page = keyset_page(
        Customer.objects.all(), key=SortKey("created_at"), params={}, base_url=BASE_URL
    )

    assert page.total == 6
    assert page.count_label == "5+ results"


def test_a_text_search_counts_up_to_its_own_smaller_cap(in_org, monkeypatch):
    for _ in range(7):
        CustomerFactory(organization=in_org)
    monkeypatch.setattr(pagination, "COUNT_CAP", 6)
    monkeypatch.setattr(pagination, "SEARCH_COUNT_CAP", 3)
    queryset = Customer.objects.all()

    search = keyset_page(
        queryset, key=SortKey("created_at"), params={}, base_url=BASE_URL, sparse_count=True
    )
    other = keyset_page(queryset, key=SortKey("created_at"), params={}, base_url=BASE_URL)

    assert (search.total, search.count_label) == (4, "3+ results")
    assert (other.total, other.count_label) == (7, "6+ results")


def test_a_page_can_skip_the_count(in_org):
    CustomerFactory(organization=in_org)

    page = keyset_page(
        Customer.objects.all(), key=SortKey("created_at"), params={}, base_url=BASE_URL, count=False
    )

    assert (page.total, page.count_label) == (None, "")


# --- Walking the pages ------------------------------------------------------------------------


@pytest.fixture
def awkward_rows(in_org):
    """23 customers whose sort values tie across page boundaries, with NULL analytics values."""
    start = timezone.now() - timedelta(days=30)
    rows = []
    for n in range(23):
        # NULLs, ties, and values close enough to share a coarse sort key (100.50 and 101.50)
        clv = None if n % 4 == 0 else Decimal(f"{(n % 5) * 100 + n % 2}.50")
        churn = None if n % 3 == 1 else round((n % 4) * 0.25 + (n % 2) * 0.001, 3)
        customer = CustomerFactory(
            organization=in_org,
            name=f"name {n % 6:02d}",  # ties of four
            created_at=start + timedelta(hours=n // 3),  # ties of three
            # The scores are a related row (customer.scores); NULL both as a missing row and
            # as a row with a NULL value.
            scores=None if n % 12 == 4 else {"clv": clv, "churn_probability": churn},
        )
        rows.append(customer)
    # updated_at is auto_now: set it afterwards, in ties of five.
    for n, customer in enumerate(rows):
        Customer.objects.filter(pk=customer.pk).update(updated_at=start + timedelta(days=n // 5))
    return Customer.objects.all()


def _expected_order(queryset, key: SortKey) -> list[int]:
    """The sort in Python: by value then id, both in the key's direction, NULLs last."""
    rows = list(queryset.values_list(key.field, "pk"))
    present = sorted((r for r in rows if r[0] is not None), reverse=key.descending)
    missing = sorted((r for r in rows if r[0] is None), key=lambda r: r[1], reverse=key.descending)
    return [pk for _value, pk in present + missing]


def _walk(queryset, key: SortKey, per_page: int, params: dict | None = None) -> list:
    pages = []
    params = dict(params or {})
    while True:
        page = keyset_page(queryset, key=key, params=params, base_url=BASE_URL, per_page=per_page)
        pages.append(page)
        if not page.has_next:
            return pages
        assert len(pages) < 100, "the walk does not end"
        params = _params(page.next_url)


def _key(field: str, descending: bool, nullable: bool, coarse: bool = True) -> SortKey:
    """The list's key for a sort (with the coarse index key of a score, as the list has it)."""
    name, of = COARSE_SORT_KEYS.get(field, ("", None)) if coarse else ("", None)
    return SortKey(field, descending=descending, nullable=nullable, coarse=name, coarse_of=of)


SORT_KEYS = {
    name: _key(field, descending, nullable)
    for name, (field, descending, nullable, _label) in SORTS.items()
}
ALL_KEYS = {
    **SORT_KEYS,
    # Not offered in the list today, but SortKey supports them: NULLs still last.
    "clv": _key("scores__clv", descending=False, nullable=True),
    "churn": _key("scores__churn_probability", descending=False, nullable=True),
    # The score sorts without their coarse keys.
    "-clv exact": _key("scores__clv", descending=True, nullable=True, coarse=False),
    "churn exact": _key("scores__churn_probability", descending=False, nullable=True, coarse=False),
}


@pytest.mark.parametrize("per_page", [1, 4, 7, 50])
@pytest.mark.parametrize("sort", list(ALL_KEYS))
def test_walking_next_pages_visits_every_row_once_in_order(awkward_rows, sort, per_page):
    key = ALL_KEYS[sort]

    pages = _walk(awkward_rows, key, per_page)

    visited = [c.pk for page in pages for c in page.items]
    assert visited == _expected_order(awkward_rows, key)
    assert all(len(page.items) == per_page for page in pages[:-1])
    assert not pages[0].has_previous
    assert all(page.has_previous for page in pages[1:])


@pytest.mark.parametrize("per_page", [1, 4, 7])
@pytest.mark.parametrize("sort", list(ALL_KEYS))
def test_the_before_cursor_returns_the_previous_page_exactly(awkward_rows, sort, per_page):
    key = ALL_KEYS[sort]
    pages = _walk(awkward_rows, key, per_page)

    for index in range(len(pages) - 1, 0, -1):
        back = keyset_page(
            awkward_rows,
            key=key,
            params=_params(pages[index].previous_url),
            base_url=BASE_URL,
            per_page=per_page,
        )
        assert [c.pk for c in back.items] == [c.pk for c in pages[index - 1].items]
        assert back.has_previous is (index - 1 > 0)
        assert back.has_next
        assert _params(back.next_url) == _params(pages[index - 1].next_url)


def test_the_page_links_keep_the_filters_and_drop_empty_values(awkward_rows):
    params = {"q": "name", "kind": "", "sort": "name", "after": ""}

    first = keyset_page(
        awkward_rows, key=SORT_KEYS["name"], params=params, base_url=BASE_URL, per_page=5
    )
    second = keyset_page(
        awkward_rows,
        key=SORT_KEYS["name"],
        params=_params(first.next_url),
        base_url=BASE_URL,
        per_page=5,
    )

    assert first.next_url.startswith(BASE_URL + "?")
    assert {k: v for k, v in _params(first.next_url).items() if k != "after"} == {
        "q": "name",
        "sort": "name",
    }
    assert set(_params(second.previous_url)) == {"q", "sort", "before"}
    assert first.first_url == f"{BASE_URL}?q=name&sort=name"


def test_an_empty_list_has_one_empty_page(in_org):
    page = keyset_page(
        Customer.objects.all(), key=SortKey("created_at"), params={}, base_url=BASE_URL
    )

    assert page.items == []
    assert (page.has_next, page.has_previous, page.next_url, page.previous_url) == (
        False,
        False,
        "",
        "",
    )
    assert page.count_label == "0 results"
    assert page.first_url == BASE_URL


# --- Tampered cursors -------------------------------------------------------------------------

TAMPERED = {
    "garbage": "garbage!!",
    "not-json": _token("{{{"),
    "dict": _token({"after": 1}),
    "short": _token([5]),
    "text-for-a-date": _token(["yesterday", 5]),
    "unparseable-date": _token([{"dt": "not a date"}, 5]),
    "bad-decimal": _token([{"dec": "lots"}, 5]),
    "list-value": _token([[1, 2], 5]),
    "text-id": _token([None, "5"]),
    "bool-id": _token([None, True]),
    "float-id": _token([None, 5.5]),
}
# On a nullable sort (lifetime value, churn) a NULL value is a real position among the NULLs.
NULL_CURSOR = _token([None, 10**6])


@pytest.mark.parametrize("direction", ["after", "before"])
@pytest.mark.parametrize("token", list(TAMPERED.values()), ids=list(TAMPERED))
@pytest.mark.parametrize("sort", ["-created", "name", "-clv", "-churn"])
def test_a_tampered_cursor_falls_back_to_page_one(awkward_rows, sort, token, direction):
    key = SORT_KEYS[sort]
    first = keyset_page(awkward_rows, key=key, params={}, base_url=BASE_URL, per_page=5)

    page = keyset_page(
        awkward_rows, key=key, params={direction: token}, base_url=BASE_URL, per_page=5
    )

    # A tampered value for a text sort is still a string: a valid, if odd, position.
    if sort == "name" and token in (TAMPERED["text-for-a-date"], TAMPERED["list-value"]):
        return
    assert [c.pk for c in page.items] == [c.pk for c in first.items]
    assert not page.has_previous


@pytest.mark.parametrize("sort", ["-created", "name"])
def test_a_null_cursor_on_a_sort_without_nulls_means_page_one(awkward_rows, sort):
    key = SORT_KEYS[sort]
    first = keyset_page(awkward_rows, key=key, params={}, base_url=BASE_URL, per_page=5)

    page = keyset_page(
        awkward_rows, key=key, params={"after": NULL_CURSOR}, base_url=BASE_URL, per_page=5
    )

    assert [c.pk for c in page.items] == [c.pk for c in first.items]
    assert not page.has_previous


@pytest.mark.parametrize("sort", ["-clv", "-churn"])
def test_a_null_cursor_on_a_nullable_sort_pages_among_the_nulls(awkward_rows, sort):
    key = SORT_KEYS[sort]

    page = keyset_page(
        awkward_rows, key=key, params={"after": NULL_CURSOR}, base_url=BASE_URL, per_page=50
    )

    nulls = awkward_rows.filter(**{f"{key.field}__isnull": True}).order_by("-pk")
    assert [c.pk for c in page.items] == list(nulls.values_list("pk", flat=True))
    assert page.has_previous


@pytest.mark.parametrize("pk", [10**20, -(10**20)])
def test_an_id_beyond_the_database_range_does_not_crash(awkward_rows, pk):
    token = encode_cursor([timezone.now() - timedelta(days=29, hours=12), pk])

    page = keyset_page(
        awkward_rows, key=SORT_KEYS["-created"], params={"after": token}, base_url=BASE_URL
    )

    assert isinstance(page.items, list)


def test_a_cursor_for_another_sort_does_not_crash(awkward_rows):
    by_clv = keyset_page(awkward_rows, key=SORT_KEYS["-clv"], params={}, base_url=BASE_URL)
    first = _walk(awkward_rows, SORT_KEYS["-clv"], 5)[0]

    # A decimal cursor replayed against the date sort: not a date, so page one.
    page = keyset_page(
        awkward_rows,
        key=SORT_KEYS["-created"],
        params=_params(first.next_url),
        base_url=BASE_URL,
        per_page=5,
    )

    assert by_clv.items
    assert not page.has_previous


@pytest.mark.parametrize("direction", ["after", "before"])
@pytest.mark.parametrize(
    ("sort", "value"),
    [
        ("-clv", {"dec": "1e400"}),
        ("-clv", {"dec": "-1e400"}),
        ("-clv", {"dec": "NaN"}),
        ("-churn", 1e308),
        ("-churn", -1e308),
        ("-churn", "NaN"),
    ],
)
def test_an_extreme_value_in_a_coarse_sort_cursor_does_not_crash(
    awkward_rows, sort, value, direction
):
    """The coarse key of a forged cursor's value (crm_site.pagination._coarse_bound) is computed
    in Python: an infinite or NaN value must give a page, not an error."""
    key = SORT_KEYS[sort]

    page = keyset_page(
        awkward_rows,
        key=key,
        params={direction: _token([value, 5])},
        base_url=BASE_URL,
        per_page=5,
    )

    assert len(page.items) <= 5
