"""The customer list: every filter narrows, every sort orders, bad input explains itself, htmx
gets the results fragment, and the URL is the state (shareable, paged, acted on in bulk)."""

import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm_site import pagination
from customers.filters import SORTS
from customers.models import Customer, CustomerTag, FieldChange, Tag
from tenancy.context import tenant_context
from tests.customers.conftest import HTMX
from tests.factories import CustomerFactory, CustomFieldDefinitionFactory, TagFactory


def _list_url(org, **params) -> str:
    url = reverse("customers:customer-list", args=[org.slug])
    return f"{url}?{urlencode(params, doseq=True)}" if params else url


def _names(response) -> list[str]:
    return [c.name for c in response.context["page"].items]


@pytest.fixture
def viewer(client_for, alice):
    return client_for(alice)


# --- Filters ----------------------------------------------------------------------------------


@pytest.fixture
def people(org_a, alice, bob):
    """A small, varied customer base in org A, and a look-alike in org B."""
    now = timezone.now()
    make = CustomerFactory
    rows = [
        make(
            organization=org_a,
            name="Acme Foods",
            kind="company",
            email="orders@acme.example",
            phone="+1 (555) 010-2000",
            phone_normalized="15550102000",
            owner=bob,
            lifecycle_stage="active",
            source="referral",
            consent_email="granted",
            created_at=now - timedelta(days=3),
            scores=dict(
                rfm_segment="champions",
                cluster=2,
                value_quadrant="best",
                clv=Decimal("900.00"),
                churn_probability=0.1,
            ),
        ),
        make(
            organization=org_a,
            name="Jane Doe",
            kind="individual",
            email="jane@mail.example",
            phone="+44 20 7946 0000",
            phone_normalized="442079460000",
            owner=alice,
            lifecycle_stage="prospect",
            source="web",
            consent_sms="withdrawn",
            created_at=now - timedelta(days=40),
            scores=dict(
                rfm_segment="at_risk",
                cluster=1,
                value_quadrant="spenders",
                clv=Decimal("250.00"),
                churn_probability=0.45,
            ),
        ),
        make(
            organization=org_a,
            name="Blue Logistics",
            kind="company",
            email="hello@blue.example",
            owner=bob,
            lifecycle_stage="at_risk",
            source="event",
            consent_phone="granted",
            created_at=now - timedelta(days=400),
            scores=dict(
                rfm_segment="lost",
                cluster=2,
                value_quadrant="uncertain",
                clv=Decimal("40.00"),
                churn_probability=0.8,
            ),
        ),
        make(
            organization=org_a,
            name="Unscored Prospect",
            kind="individual",
            lifecycle_stage="churned",
            created_at=now - timedelta(days=10),
        ),
    ]
    return {c.name: c for c in rows}


@pytest.fixture
def look_alike(org_b):
    """Matches every filter the tests use, but lives in org B."""
    return CustomerFactory(
        organization=org_b,
        name="Acme Foods (B)",
        email="orders@acme.example",
        phone_normalized="15550102000",
        lifecycle_stage="active",
        source="referral",
        consent_email="granted",
        scores=dict(
            rfm_segment="champions",
            cluster=2,
            value_quadrant="best",
            clv=Decimal("900.00"),
            churn_probability=0.1,
        ),
    )


FILTERS = [
    ({"q": "acme"}, {"Acme Foods"}),
    ({"q": "ACME foods"}, {"Acme Foods"}),
    ({"q": "jane@mail"}, {"Jane Doe"}),
    ({"q": "555-010"}, {"Acme Foods"}),
    ({"q": "(20) 7946"}, {"Jane Doe"}),
    ({"q": "   "}, {"Acme Foods", "Jane Doe", "Blue Logistics", "Unscored Prospect"}),
    ({"kind": "individual"}, {"Jane Doe", "Unscored Prospect"}),
    ({"lifecycle_stage": ["active", "at_risk"]}, {"Acme Foods", "Blue Logistics"}),
    ({"lifecycle_stage": "churned"}, {"Unscored Prospect"}),
    ({"source": "web"}, {"Jane Doe"}),
    ({"consent_email": "granted"}, {"Acme Foods"}),
    ({"consent_sms": "withdrawn"}, {"Jane Doe"}),
    ({"consent_phone": "granted"}, {"Blue Logistics"}),
    (
        {"consent_email": "unknown"},
        {"Jane Doe", "Blue Logistics", "Unscored Prospect"},
    ),
    ({"rfm_segment": "at_risk"}, {"Jane Doe"}),
    ({"cluster": "2"}, {"Acme Foods", "Blue Logistics"}),
    ({"value_quadrant": "spenders"}, {"Jane Doe"}),
    ({"clv_min": "250"}, {"Acme Foods", "Jane Doe"}),
    ({"clv_max": "250"}, {"Jane Doe", "Blue Logistics"}),
    ({"clv_min": "100", "clv_max": "500"}, {"Jane Doe"}),
    ({"churn": "low"}, {"Acme Foods"}),
    ({"churn": "medium"}, {"Jane Doe"}),
    ({"churn": "high"}, {"Blue Logistics"}),
    ({"kind": "company", "lifecycle_stage": "active", "q": "acme"}, {"Acme Foods"}),
]


@pytest.mark.parametrize(("params", "expected"), FILTERS, ids=[str(p) for p, _e in FILTERS])
def test_each_filter_narrows_the_list(people, look_alike, org_a, viewer, params, expected):
    response = viewer.get(_list_url(org_a, **params))

    assert response.status_code == 200
    assert set(_names(response)) == expected


def test_the_owner_filter_shows_that_owners_customers(people, org_a, viewer, bob):
    response = viewer.get(_list_url(org_a, owner=bob.pk))

    assert set(_names(response)) == {"Acme Foods", "Blue Logistics"}


def test_only_mine_shows_the_signed_in_users_customers(people, org_a, client_for, alice, bob):
    as_bob = client_for(bob).get(_list_url(org_a, mine="true"))
    as_alice = client_for(alice).get(_list_url(org_a, mine="on"))

    assert set(_names(as_bob)) == {"Acme Foods", "Blue Logistics"}
    assert set(_names(as_alice)) == {"Jane Doe"}


def test_the_tag_filter_shows_tagged_customers_once(people, org_a, viewer):
    vip, hot = (
        TagFactory(organization=org_a, name="VIP"),
        TagFactory(organization=org_a, name="Hot"),
    )
    with tenant_context(org_a):
        for customer, tag in [("Acme Foods", vip), ("Acme Foods", hot), ("Jane Doe", vip)]:
            CustomerTag.objects.create(organization=org_a, customer=people[customer], tag=tag)

    response = viewer.get(_list_url(org_a, tag=vip.pk))

    assert sorted(_names(response)) == ["Acme Foods", "Jane Doe"]


def test_the_created_range_filters_by_day(people, org_a, viewer):
    today = timezone.localdate()

    recent = viewer.get(_list_url(org_a, created_after=str(today - timedelta(days=10))))
    older = viewer.get(
        _list_url(
            org_a,
            created_after=str(today - timedelta(days=41)),
            created_before=str(today - timedelta(days=5)),
        )
    )

    assert set(_names(recent)) == {"Acme Foods", "Unscored Prospect"}
    assert set(_names(older)) == {"Jane Doe", "Unscored Prospect"}


@pytest.fixture
def custom_people(org_a):
    """One custom field of each type, and three customers with values for them."""
    for key, field_type, choices in [
        ("loyalty", "text", []),
        ("seats", "number", []),
        ("renewal", "date", []),
        ("tier", "choice", ["Bronze", "Silver", "Gold"]),
        ("partner", "boolean", []),
    ]:
        CustomFieldDefinitionFactory(
            organization=org_a, key=key, label=key.title(), field_type=field_type, choices=choices
        )
    values = {
        "Gold One": {
            "loyalty": "L-100",
            "seats": 12,
            "renewal": "2026-03-01",
            "tier": "Gold",
            "partner": True,
        },
        "Silver Two": {
            "loyalty": "X-200",
            "seats": 2.5,
            "renewal": "2027-01-15",
            "tier": "Silver",
            "partner": False,
        },
        "Blank Three": {},
    }
    for name, custom in values.items():
        CustomerFactory(organization=org_a, name=name, custom=custom)


CUSTOM_FILTERS = [
    ({"cf_loyalty": "l-1"}, {"Gold One"}),
    ({"cf_seats": "12"}, {"Gold One"}),
    ({"cf_seats": "2.5"}, {"Silver Two"}),
    ({"cf_seats": "3"}, set()),
    ({"cf_renewal": "2027-01-15"}, {"Silver Two"}),
    ({"cf_tier": "Gold"}, {"Gold One"}),
    ({"cf_partner": "true"}, {"Gold One"}),
    ({"cf_partner": "false"}, {"Silver Two"}),
    ({"cf_partner": "unknown"}, {"Gold One", "Silver Two", "Blank Three"}),
]


@pytest.mark.parametrize(
    ("params", "expected"), CUSTOM_FILTERS, ids=[str(p) for p, _e in CUSTOM_FILTERS]
)
def test_each_custom_field_type_filters_the_list(custom_people, org_a, viewer, params, expected):
    response = viewer.get(_list_url(org_a, **params))

    assert response.status_code == 200
    assert not response.context["filterset"].form.errors
    assert set(_names(response)) == expected


def test_the_custom_fields_appear_as_filters(custom_people, org_a, viewer):
    html = viewer.get(
        reverse("customers:customer-filter-panel", args=[org_a.slug]), headers=HTMX
    ).content.decode()

    for name in ("cf_loyalty", "cf_seats", "cf_renewal", "cf_tier", "cf_partner"):
        assert f'name="{name}"' in html


def test_the_list_hides_other_organizations_and_merged_away_customers(org_a, org_b, viewer):
    survivor = CustomerFactory(organization=org_a, name="Survivor")
    CustomerFactory(organization=org_a, name="Duplicate", merged_into=survivor)
    CustomerFactory(organization=org_b, name="Foreign")

    response = viewer.get(_list_url(org_a))

    assert _names(response) == ["Survivor"]
    assert "Foreign" not in response.content.decode()


# --- Sorting ----------------------------------------------------------------------------------


@pytest.fixture
def sortable(org_a):
    now = timezone.now()
    specs = [
        ("delta", 4, Decimal("10.00"), 0.9),
        ("alpha", 1, None, 0.2),
        ("charlie", 3, Decimal("500.00"), None),
        ("bravo", 2, Decimal("75.50"), 0.5),
        ("echo", 5, None, None),
    ]
    for name, age, clv, churn in specs:
        customer = CustomerFactory(
            organization=org_a,
            name=name,
            created_at=now - timedelta(days=age),
            # echo has no score row at all; alpha and charlie a row with one NULL
            scores=None
            if clv is None and churn is None
            else {"clv": clv, "churn_probability": churn},
        )
        with tenant_context(org_a):
            Customer.objects.filter(pk=customer.pk).update(
                updated_at=now - timedelta(hours=10 - age)
            )


EXPECTED_ORDER = {
    "-created": ["alpha", "bravo", "charlie", "delta", "echo"],
    "created": ["echo", "delta", "charlie", "bravo", "alpha"],
    "name": ["alpha", "bravo", "charlie", "delta", "echo"],
    "-name": ["echo", "delta", "charlie", "bravo", "alpha"],
    "-updated": ["echo", "delta", "charlie", "bravo", "alpha"],
    "-clv": ["charlie", "bravo", "delta", "echo", "alpha"],  # NULLs last, newest id first
    "-churn": ["delta", "bravo", "alpha", "echo", "charlie"],
}


def test_every_sort_has_an_expected_order():
    assert set(EXPECTED_ORDER) == set(SORTS)


@pytest.mark.parametrize("sort", list(EXPECTED_ORDER))
def test_each_sort_orders_the_list(sortable, org_a, viewer, sort):
    response = viewer.get(_list_url(org_a, sort=sort))

    assert _names(response) == EXPECTED_ORDER[sort]
    assert response.context["result"].sort == sort
    assert f'<option value="{sort}" selected>' in response.content.decode()


def test_the_default_sort_is_newest_first(sortable, org_a, viewer):
    response = viewer.get(_list_url(org_a))

    assert _names(response) == EXPECTED_ORDER["-created"]


# --- Invalid input ----------------------------------------------------------------------------

INVALID = [
    {"created_after": "yesterday"},
    {"created_before": "2026-02-31"},
    {"clv_min": "lots"},
    {"clv_max": "1e"},
    {"kind": "alien"},
    {"owner": "999999"},
    {"owner": "bob"},
    {"tag": "abc"},
    {"tag": "999999"},
    {"sort": "random"},
    {"cluster": "two"},
    {"lifecycle_stage": ["active", "zombie"]},
    {"churn": "extreme"},
    {"consent_email": "maybe"},
    {"rfm_segment": "vip"},
    {"value_quadrant": "worst"},
]


@pytest.mark.parametrize("params", INVALID, ids=[str(p) for p in INVALID])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_an_invalid_filter_shows_a_message_never_a_500(people, org_a, viewer, params, htmx):
    response = viewer.get(_list_url(org_a, **params), headers=HTMX if htmx else {})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Some filters are not valid" in html
    assert response.context["filterset"].form.errors


def test_an_invalid_custom_field_filter_shows_a_message(custom_people, org_a, viewer):
    for params in ({"cf_seats": "many"}, {"cf_renewal": "soon"}, {"cf_tier": "Platinum"}):
        response = viewer.get(_list_url(org_a, **params))

        assert response.status_code == 200, params
        assert "Some filters are not valid" in response.content.decode(), params


def _tagged(org, tag, names: list[str], *, merged: list[str] = ()) -> None:
    """Customers carrying `tag`; those in `merged` merged away into the first one, keeping
    their link (merging moves links; the database does not forbid a stale one)."""
    with tenant_context(org):
        customers = {name: CustomerFactory(organization=org, name=name) for name in names}
        CustomerTag.objects.bulk_create(
            [CustomerTag(organization=org, customer=c, tag=tag) for c in customers.values()]
        )
        survivor = customers[names[0]]
        Customer.objects.filter(pk__in=[customers[n].pk for n in merged]).update(
            merged_into=survivor
        )


def test_a_tag_alone_is_counted_from_its_links_without_the_merged_away(org_a, viewer):
    vip = TagFactory(organization=org_a, name="VIP")
    _tagged(org_a, vip, ["Ann", "Bea", "Cy", "Old Ann"], merged=["Old Ann"])

    response = viewer.get(_list_url(org_a, tag=vip.pk))

    assert sorted(_names(response)) == ["Ann", "Bea", "Cy"]
    assert response.context["page"].total == 3
    assert response.context["page"].count_label == "3 results"


@pytest.mark.parametrize(("cap", "label"), [(3, "3 results"), (2, "2+ results")])
def test_a_tag_alones_count_stops_at_the_cap_beyond_the_merged_away(
    cap, label, org_a, viewer, monkeypatch
):
    # The merged-away customers' links are read beyond the cap: three live customers with a
    # cap of three are "3", not "3+", however many stale links come first.
    monkeypatch.setattr(pagination, "COUNT_CAP", cap)
    vip = TagFactory(organization=org_a, name="VIP")
    _tagged(org_a, vip, ["Ann", "Bea", "Cy", "Old 1", "Old 2"], merged=["Old 1", "Old 2"])

    response = viewer.get(_list_url(org_a, tag=vip.pk))

    assert response.context["page"].count_label == label


def test_a_tag_with_another_filter_is_counted_on_the_customers(org_a, viewer):
    vip = TagFactory(organization=org_a, name="VIP")
    _tagged(org_a, vip, ["Ann", "Bea", "Cy"])
    with tenant_context(org_a):
        Customer.objects.filter(name="Ann").update(lifecycle_stage="churned")

    response = viewer.get(_list_url(org_a, tag=vip.pk, lifecycle_stage="churned", sort="name"))

    assert _names(response) == ["Ann"]
    assert response.context["page"].count_label == "1 result"


def test_another_organizations_owner_or_tag_is_not_a_valid_filter(
    people, org_a, org_b, mallory, viewer
):
    foreign_tag = TagFactory(organization=org_b, name="Spy")

    for params in ({"owner": mallory.pk}, {"tag": foreign_tag.pk}):
        response = viewer.get(_list_url(org_a, **params))

        assert response.status_code == 200
        assert "Some filters are not valid" in response.content.decode()
        assert _names(response) == []


def test_unknown_parameters_are_ignored(people, org_a, viewer):
    response = viewer.get(_list_url(org_a, utm_source="newsletter", page="7"))

    assert response.status_code == 200
    assert len(_names(response)) == 4


# --- The filter panel: with the page when in use, otherwise fetched when opened ---------------


def _panel_url(org) -> str:
    return reverse("customers:customer-filter-panel", args=[org.slug])


@pytest.mark.parametrize("params", [{}, {"q": "acme"}, {"sort": "name"}, {"q": "a", "after": "x"}])
def test_without_a_panel_filter_the_panel_is_closed_and_fetched_when_opened(
    params, people, org_a, viewer
):
    response = viewer.get(_list_url(org_a, **params))
    html = response.content.decode()

    assert response.context["panel_open"] is False
    assert 'class="collapse" id="more-filters"' in html
    assert 'aria-expanded="false"' in html
    loader = html[html.index('data-testid="filter-panel-loading"') - 500 :]
    assert f'hx-get="{_panel_url(org_a)}"' in loader
    assert 'hx-trigger="show.bs.collapse from:#more-filters' in loader
    assert 'id="id_owner"' not in html and 'name="created_after"' not in html


@pytest.mark.parametrize(
    "params", [{"lifecycle_stage": "active"}, {"q": "a", "mine": "on"}, {"cluster": "x"}]
)
def test_with_a_panel_filter_in_use_or_wrong_the_panel_is_open_with_the_page(
    params, people, org_a, viewer
):
    html = viewer.get(_list_url(org_a, **params)).content.decode()

    assert 'class="collapse show" id="more-filters"' in html
    assert 'aria-expanded="true"' in html
    assert 'id="id_owner"' in html and 'name="created_after"' in html
    assert 'data-testid="filter-panel-loading"' not in html
    # Any change in the panel applies the filters, with the search box and the order.
    assert 'hx-include="#customer-filters" hx-trigger="change"' in html


def test_the_panel_offers_the_organizations_own_owners_tags_and_custom_fields(
    people, org_a, org_b, mallory, viewer
):
    TagFactory(organization=org_a, name="Wholesale")
    TagFactory(organization=org_b, name="Spy")
    CustomFieldDefinitionFactory(organization=org_a, key="tier", label="Tier")
    CustomFieldDefinitionFactory(organization=org_b, key="secret", label="Secret")

    response = viewer.get(_panel_url(org_a), headers=HTMX)
    html = response.content.decode()

    assert response.status_code == 200
    assert ">Wholesale</option>" in html and 'name="cf_tier"' in html
    assert ">Bob Sales</option>" in html
    assert "Spy" not in html and "Secret" not in html and "Mallory" not in html
    assert "<html" not in html  # a fragment, for the open panel


def test_the_panel_of_another_organization_is_not_found(org_a, org_b, viewer):
    assert viewer.get(_panel_url(org_b), headers=HTMX).status_code == 404


def test_the_panel_opened_outside_htmx_goes_to_the_list(org_a, viewer):
    response = viewer.get(_panel_url(org_a) + "?lifecycle_stage=active")

    assert response.status_code == 302
    assert response.url == _list_url(org_a, lifecycle_stage="active")


# --- htmx, the URL and the count --------------------------------------------------------------


def test_an_htmx_request_gets_only_the_results(people, org_a, viewer):
    response = viewer.get(_list_url(org_a, q="acme"), headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="customer-filters"' not in html
    assert "Acme Foods" in html
    assert next(t.name for t in response.templates) == (
        "customers/partials/customer_list_results.html"
    )


def test_a_full_request_gets_the_whole_page(people, org_a, viewer):
    response = viewer.get(_list_url(org_a, q="acme"))

    html = response.content.decode()
    assert "<html" in html
    assert 'id="customer-filters"' in html
    assert 'id="customer-results"' in html
    assert "Acme Foods" in html


def test_a_boosted_htmx_request_gets_the_whole_page(people, org_a, viewer):
    response = viewer.get(_list_url(org_a), headers={**HTMX, "HX-Boosted": "true"})

    assert "<html" in response.content.decode()


def test_the_url_round_trips_the_filters(people, org_a, viewer):
    params = {
        "q": "acme",
        "kind": "company",
        "lifecycle_stage": ["active", "prospect"],
        "sort": "name",
    }

    fragment = viewer.get(_list_url(org_a, **params), headers=HTMX)
    page = viewer.get(_list_url(org_a, **params))

    html = page.content.decode()
    assert _names(fragment) == _names(page) == ["Acme Foods"]
    assert 'name="q" id="id_q" value="acme"' in html
    assert '<option value="name" selected>' in html
    assert 'value="company" selected' in html
    checked = re.findall(r'name="lifecycle_stage" value="(\w+)"[^>]*checked>', html)
    assert sorted(checked) == ["active", "prospect"]
    # The bulk form acts on exactly this query.
    query = page.context["request"].GET.urlencode()
    assert f'name="query" value="{query.replace("&", "&amp;")}"' in html


def test_the_next_page_link_keeps_the_filters_and_sort(org_a, viewer):
    with tenant_context(org_a):
        Customer.objects.bulk_create(
            [
                Customer(organization=org_a, name=f"Acme {n:03d}", lifecycle_stage="active")
                for n in range(55)
            ]
            + [Customer(organization=org_a, name="Other", lifecycle_stage="active")]
        )

    first = viewer.get(_list_url(org_a, q="acme", sort="name"))
    page = first.context["page"]
    second = viewer.get(page.next_url)
    back = viewer.get(second.context["page"].previous_url)

    query = parse_qs(urlsplit(page.next_url).query)
    assert (query["q"], query["sort"]) == (["acme"], ["name"])
    assert _names(first) == [f"Acme {n:03d}" for n in range(50)]
    assert _names(second) == [f"Acme {n:03d}" for n in range(50, 55)]
    assert _names(back) == _names(first)
    assert page.count_label == "55 results"
    assert f'href="{page.next_url.replace("&", "&amp;")}"' in first.content.decode()


def test_the_next_page_link_keeps_every_value_of_a_multiple_choice_filter(org_a, viewer):
    with tenant_context(org_a):
        Customer.objects.bulk_create(
            [
                Customer(organization=org_a, name=f"C {n:03d}", lifecycle_stage=stage)
                for n, stage in enumerate(["active", "prospect", "churned"] * 30)
            ]
        )
    params = {"lifecycle_stage": ["active", "prospect"], "sort": "name"}

    first = viewer.get(_list_url(org_a, **params))
    second = viewer.get(first.context["page"].next_url)
    back = viewer.get(second.context["page"].previous_url)

    query = parse_qs(urlsplit(first.context["page"].next_url).query)
    assert query["lifecycle_stage"] == ["active", "prospect"]
    assert len(_names(first)) == 50
    assert len(_names(second)) == 10
    assert {c.lifecycle_stage for c in second.context["page"].items} == {"active", "prospect"}
    assert _names(back) == _names(first)


def test_a_garbage_cursor_shows_page_one(people, org_a, viewer):
    for params in ({"after": "garbage"}, {"before": "%%%"}, {"after": "W251bGwsMV0"}):
        response = viewer.get(_list_url(org_a, **params))

        assert response.status_code == 200
        assert len(_names(response)) == 4


def test_the_count_is_capped(org_a, viewer, monkeypatch):
    with tenant_context(org_a):
        Customer.objects.bulk_create([Customer(organization=org_a, name=f"C{n}") for n in range(7)])
    monkeypatch.setattr(pagination, "COUNT_CAP", 5)

    response = viewer.get(_list_url(org_a))

    assert "5+ results" in response.content.decode()
    assert len(_names(response)) == 7


def test_an_empty_organization_invites_to_add_a_customer(org_a, viewer):
    html = viewer.get(_list_url(org_a)).content.decode()

    assert "No customers yet" in html


def test_no_match_offers_to_clear_the_filters(people, org_a, viewer):
    html = viewer.get(_list_url(org_a, q="nobody by that name")).content.decode()

    assert "No customers match" in html
    assert "Clear the filters" in html


# --- Bulk actions through the view ------------------------------------------------------------


def _bulk_url(org) -> str:
    return reverse("customers:customer-bulk", args=[org.slug])


def test_a_bulk_action_on_all_matching_customers_acts_on_the_filter_only(
    people, look_alike, org_a, org_b, client_for, alice
):
    response = client_for(alice).post(
        _bulk_url(org_a),
        {"action": "add_tag", "tag": "Campaign", "scope": "all", "query": "kind=company"},
    )

    assert response.status_code == 302
    assert response["Location"].endswith("?kind=company")
    with tenant_context(org_a):
        tag = Tag.objects.get(name="Campaign")
        assert set(tag.customers.values_list("name", flat=True)) == {
            "Acme Foods",
            "Blue Logistics",
        }
    with tenant_context(org_b):
        assert not Tag.objects.exists()
        assert not CustomerTag.objects.exists()


def test_a_bulk_action_on_a_selection_ignores_ids_of_other_organizations(
    people, look_alike, org_a, org_b, client_for, alice
):
    ids = f"{people['Jane Doe'].pk},{look_alike.pk}"

    client_for(alice).post(
        _bulk_url(org_a),
        {"action": "change_stage", "stage": "churned", "scope": "selected", "ids": ids},
    )

    with tenant_context(org_a):
        assert Customer.objects.get(name="Jane Doe").lifecycle_stage == "churned"
    with tenant_context(org_b):
        assert Customer.objects.get().lifecycle_stage == "active"
        assert not FieldChange.objects.exists()


def test_a_bulk_selection_outside_the_filter_is_left_alone(people, org_a, client_for, alice, carol):
    ids = f"{people['Jane Doe'].pk},{people['Acme Foods'].pk}"

    client_for(alice).post(
        _bulk_url(org_a),
        {
            "action": "assign_owner",
            "owner": carol.pk,
            "scope": "selected",
            "ids": ids,
            "query": "kind=company",
        },
    )

    with tenant_context(org_a):
        assert Customer.objects.get(name="Acme Foods").owner == carol
        assert Customer.objects.get(name="Jane Doe").owner == alice  # an individual
        assert FieldChange.objects.filter(field="owner").count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"action": "add_tag", "scope": "selected", "ids": ""},
        {"action": "add_tag", "scope": "selected", "ids": "1,x", "tag": "T"},
        {"action": "add_tag", "scope": "all", "tag": "  "},
        {"action": "change_stage", "scope": "all", "stage": ""},
        {"action": "explode", "scope": "all"},
    ],
)
def test_an_invalid_bulk_action_explains_itself_and_changes_nothing(
    people, org_a, client_for, alice, data
):
    with tenant_context(org_a):
        before = list(Customer.objects.order_by("pk").values())

    response = client_for(alice).post(_bulk_url(org_a), data, follow=True)

    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    with tenant_context(org_a):
        assert list(Customer.objects.order_by("pk").values()) == before
        assert not FieldChange.objects.exists()


def test_a_bulk_action_reports_how_many_customers_changed(people, org_a, client_for, alice):
    response = client_for(alice).post(
        _bulk_url(org_a),
        {"action": "change_stage", "stage": "active", "scope": "all", "query": ""},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == ["3 customers updated."]


# --- Rows -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "css", "label"),
    [
        ("prospect", "badge-soft-info", "Prospect"),
        ("active", "badge-soft-success", "Active"),
        ("at_risk", "badge-soft-warning", "At risk"),
        ("churned", "badge-soft-danger", "Churned"),
    ],
)
def test_each_row_links_to_its_customer_and_shows_its_stage(stage, css, label, org_a, viewer):
    customer = CustomerFactory(organization=org_a, name="Row Person", lifecycle_stage=stage)

    html = viewer.get(_list_url(org_a), headers=HTMX).content.decode()

    detail = reverse("customers:customer-detail", args=[org_a.slug, customer.pk])
    assert f'href="{detail}">Row Person</a>' in html
    # Twice: beside the name on phones, in its own column on wider screens.
    assert html.count(f'<span class="badge rounded-pill {css}">{label}</span>') == 2


def test_the_stage_badges_speak_the_readers_language(org_a, viewer):
    CustomerFactory(organization=org_a, name="Row Person", lifecycle_stage="at_risk")

    html = viewer.get(
        _list_url(org_a), headers={**HTMX, "Accept-Language": "zh-hans"}
    ).content.decode()

    assert html.count('<span class="badge rounded-pill badge-soft-warning">有流失风险</span>') == 2


@pytest.mark.parametrize(
    ("params", "searched"), [({"q": "acme"}, True), ({"q": " "}, False), ({}, False)]
)
def test_a_text_search_counts_its_matches_as_a_sparse_filter(
    params, searched, people, org_a, viewer, monkeypatch
):
    calls = []
    count, values = pagination.capped_count, pagination.capped_values
    monkeypatch.setattr(
        pagination,
        "capped_count",
        lambda queryset, cap=None, *, sparse=False: (
            calls.append(("count", sparse)) or count(queryset, cap, sparse=sparse)
        ),
    )
    monkeypatch.setattr(
        pagination,
        "capped_values",
        lambda queryset, cap, *fields: (
            calls.append(("ids", cap, fields)) or values(queryset, cap, *fields)
        ),
    )

    assert viewer.get(_list_url(org_a, **params), headers=HTMX).status_code == 200
    if not searched:
        assert calls == [("count", False)]
    elif connection.vendor == "postgresql":
        # The matches' ids and creation times first, which are the count too, and from which
        # the default order's page is picked (customers.selectors._text_search_rows).
        assert calls == [("ids", pagination.SEARCH_COUNT_CAP, ("created_at",))]
    else:
        assert calls == [("count", True)]


@pytest.fixture
def needles(org_a):
    """120 customers, 80 of them with "needle" in the name or the email; their names, newest
    first."""
    now = timezone.now()
    with tenant_context(org_a):
        Customer.objects.bulk_create(
            [
                Customer(
                    organization=org_a,
                    name=f"Needle {n}" if n % 2 else f"Hay {n}",
                    email=f"c{n}@needle.example" if n % 6 == 0 else "",
                    lifecycle_stage="prospect" if n % 4 == 0 else "active",
                    created_at=now - timedelta(hours=n),
                )
                for n in range(120)
            ]
        )
    return [f"Needle {n}" if n % 2 else f"Hay {n}" for n in range(120) if n % 2 or n % 6 == 0]


@pytest.mark.parametrize("cap", [3, 1_000], ids=["more-than-the-cap", "within-the-cap"])
def test_a_text_search_pages_the_same_with_few_or_many_matches(
    cap, needles, org_a, viewer, monkeypatch
):
    # Within the cap the page is taken among the matches' ids; beyond it the search condition
    # filters the page's own query. Both give the same pages, newest first, both ways.
    monkeypatch.setattr(pagination, "SEARCH_COUNT_CAP", cap)

    first = viewer.get(_list_url(org_a, q="NEEDLE", sort="-created"))
    second = viewer.get(first.context["page"].next_url)
    back = viewer.get(second.context["page"].previous_url)

    assert len(needles) == 80
    assert _names(first) + _names(second) == needles
    assert not second.context["page"].next_url
    assert _names(back) == _names(first)
    assert first.context["page"].count_label == ("3+ results" if cap == 3 else "80 results")


@pytest.mark.parametrize("cap", [3, 1_000], ids=["more-than-the-cap", "within-the-cap"])
def test_a_text_search_combines_with_the_other_filters(cap, needles, org_a, viewer, monkeypatch):
    monkeypatch.setattr(pagination, "SEARCH_COUNT_CAP", cap)
    with tenant_context(org_a):
        expected = [
            c.name
            for c in Customer.objects.filter(name__in=needles, lifecycle_stage="prospect").order_by(
                "-created_at"
            )
        ]

    response = viewer.get(_list_url(org_a, q="needle", lifecycle_stage="prospect"))

    assert expected and _names(response) == expected
    assert response.context["page"].total == min(len(expected), cap + 1)


@pytest.fixture
def tied_needles(org_a):
    """40 customers, 31 of them matching "needle", created three to an hour (ties on the
    creation time, which the id breaks)."""
    now = timezone.now()
    with tenant_context(org_a):
        Customer.objects.bulk_create(
            [
                Customer(
                    organization=org_a,
                    name=f"Needle {n:02}" if n % 3 else f"Hay {n:02}",
                    email="x@needle.example" if n % 9 == 0 else "",
                    created_at=now - timedelta(hours=n // 3),
                )
                for n in range(40)
            ]
        )
        return Customer.objects.filter(Q(name__contains="Needle") | Q(email__contains="needle"))


def _walk(org, user, params: str, per_page: int) -> tuple[list[list[int]], list[list[int]]]:
    """Every page of the list, following the next links from the first page and then the
    previous links back from the last one."""
    from django.http import QueryDict

    from customers.selectors import customer_list_page

    def page(query: str):
        return customer_list_page(
            org=org, user=user, params=QueryDict(query), base_url="/", per_page=per_page
        ).page

    with tenant_context(org):
        forward, current = [], page(params)
        while True:
            forward.append([c.pk for c in current.items])
            if not current.next_url:
                break
            current = page(urlsplit(current.next_url).query)
        backward = [[c.pk for c in current.items]]
        while current.previous_url:
            current = page(urlsplit(current.previous_url).query)
            backward.insert(0, [c.pk for c in current.items])
    return forward, backward


@pytest.mark.parametrize("sort", ["-created", "created", "name", "-name", "-updated"])
@pytest.mark.parametrize("cap", [3, 1_000], ids=["more-than-the-cap", "within-the-cap"])
def test_a_text_search_pages_through_every_match_once_in_every_order(
    sort, cap, tied_needles, org_a, alice, monkeypatch
):
    # Within the cap, sorted by creation, the page is picked among the matches' (created_at,
    # id) in Python; beyond it, its ids are walked in the search index first (keyset_page's
    # `candidates` and `narrow`). Other orders go the general way. Ties on the creation time
    # are broken by the id, the same way in Python as in the database.
    monkeypatch.setattr(pagination, "SEARCH_COUNT_CAP", cap)
    field, descending, _nullable, _label = SORTS[sort]
    with tenant_context(org_a):
        expected = [
            c.pk
            for c in sorted(
                tied_needles, key=lambda c: (getattr(c, field), c.pk), reverse=descending
            )
        ]

    forward, backward = _walk(org_a, alice, f"q=needle&sort={sort}", per_page=4)

    assert len(expected) == 31
    assert [pk for page in forward for pk in page] == expected
    assert [len(page) for page in forward] == [4] * 7 + [3]
    assert backward == forward


@pytest.mark.parametrize("cap", [3, 1_000], ids=["more-than-the-cap", "within-the-cap"])
def test_a_text_search_with_a_score_filter_pages_newest_first(cap, org_a, viewer, monkeypatch):
    # A score filter walks the score table's copy of created_at (a related field): the search
    # then leaves the page to the general way.
    monkeypatch.setattr(pagination, "SEARCH_COUNT_CAP", cap)
    now = timezone.now()
    for n in range(6):
        CustomerFactory(
            organization=org_a,
            name=f"Needle {n}",
            created_at=now - timedelta(hours=n),
            scores={"rfm_segment": "lost" if n % 2 else "loyal"},
        )

    response = viewer.get(_list_url(org_a, q="needle", rfm_segment="lost"), headers=HTMX)

    assert response.status_code == 200
    assert _names(response) == ["Needle 1", "Needle 3", "Needle 5"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the search index: PostgreSQL")
def test_beyond_the_cap_a_text_search_walks_the_page_ids_in_the_search_index(
    needles, org_a, viewer, monkeypatch
):
    monkeypatch.setattr(pagination, "SEARCH_COUNT_CAP", 3)

    with CaptureQueriesContext(connection) as queries:
        response = viewer.get(_list_url(org_a, q="needle"), headers=HTMX)

    assert _names(response) == needles[:50]
    page = next(
        q["sql"] for q in queries if 'ORDER BY "customers_customer"."created_at" DESC' in q["sql"]
    )
    # The ids first, in a LIMITed subquery that tests strpos() (which no index answers, so
    # that PostgreSQL walks the list's order) and reads only indexed columns ...
    subquery = page[page.index("IN (SELECT") :]
    assert "STRPOS" in subquery and "LIMIT 51" in subquery
    assert "ILIKE" not in page
    # ... which the covering index of the newest customers answers alone.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indexrelid = 'customer_org_search_walk_idx'::regclass"
        )
        (definition,) = cursor.fetchone()
    assert "(organization_id, created_at DESC, id DESC) INCLUDE (search_text)" in definition
    assert "WHERE (merged_into_id IS NULL)" in definition


@pytest.mark.parametrize("typed", ["ÄRZTE", "ärzte", "Ärzte"])
def test_a_text_search_ignores_the_case_of_accented_letters(typed, org_a, viewer):
    # The search text is lowered by the database, and so is the typed text (Python's
    # str.lower differs from PostgreSQL's lower() on a few letters). SQLite lowers ASCII only.
    CustomerFactory(organization=org_a, name="Ärztehaus Berlin")
    CustomerFactory(organization=org_a, name="Bäckerei Berlin")

    names = _names(viewer.get(_list_url(org_a, q=typed), headers=HTMX))

    if connection.vendor == "postgresql" or typed == "Ärzte":
        assert names == ["Ärztehaus Berlin"]


def test_the_search_text_follows_the_name_email_and_phone(org_a, viewer, alice):
    from customers.services import customer_update

    customer = CustomerFactory(
        organization=org_a, name="Old Name", email="old@example.com", phone="+1 555 010 2000"
    )
    with tenant_context(org_a):
        customer_update(
            customer=customer,
            by=alice,
            data={
                "name": "Fresh Bakery",
                "email": "hello@fresh.example",
                "phone": "+44 20 7946 0000",
            },
        )
        # A line break between the parts: a text never matches across two of them.
        assert Customer.objects.get(pk=customer.pk).search_text == (
            "fresh bakery\nhello@fresh.example\n442079460000"
        )

    for found in ("fresh", "FRESH.EXAMPLE", "7946 0000", "+44 20 7946"):
        assert _names(viewer.get(_list_url(org_a, q=found), headers=HTMX)) == ["Fresh Bakery"]
    for gone in ("old name", "old@example", "5550102000", "bakery hello"):
        assert _names(viewer.get(_list_url(org_a, q=gone), headers=HTMX)) == []


def test_a_score_filter_pages_newest_first_through_the_scored_customers(org_a, alice):
    """With a score filter the newest-first order walks the scores' copy of created_at (one
    index); the pages must be exactly the filtered customers, newest first, each once."""
    from django.http import QueryDict

    from customers.selectors import customer_list_page

    now = timezone.now()
    lost = [
        CustomerFactory(
            organization=org_a,
            name=f"lost {n}",
            created_at=now - timedelta(days=n % 4),  # ties on the creation time
            scores={"rfm_segment": "lost", "churn_probability": 0.9},
        )
        for n in range(7)
    ]
    CustomerFactory(organization=org_a, name="loyal", scores={"rfm_segment": "loyal"})
    CustomerFactory(organization=org_a, name="unscored")
    expected = [c.pk for c in sorted(lost, key=lambda c: (c.created_at, c.pk), reverse=True)]

    seen, params = [], QueryDict("rfm_segment=lost")
    with tenant_context(org_a):
        while True:
            result = customer_list_page(
                org=org_a, user=alice, params=params, base_url="/", per_page=3
            )
            seen += [c.pk for c in result.page.items]
            if not result.page.next_url:
                break
            params = QueryDict(urlsplit(result.page.next_url).query)

    assert result.sort == "-created"
    assert seen == expected


def test_a_row_shows_its_tags_owner_and_scores_with_its_text_escaped(org_a, viewer, bob):
    customer = CustomerFactory(
        organization=org_a,
        name="<b>Bold</b> & Co",
        email="",
        phone="",
        kind="company",
        city="Lyon",
        owner=bob,
        scores=dict(rfm_segment="champions", clv=Decimal("12345.60"), churn_probability=0.237),
    )
    with tenant_context(org_a):
        for name in ("VIP", "<i>x</i>"):
            CustomerTag.objects.create(
                organization=org_a, customer=customer, tag=TagFactory(organization=org_a, name=name)
            )

    html = viewer.get(_list_url(org_a), headers=HTMX).content.decode()

    assert ">&lt;b&gt;Bold&lt;/b&gt; &amp; Co</a>" in html
    assert 'aria-label="Select &lt;b&gt;Bold&lt;/b&gt; &amp; Co"' in html
    assert "<b>Bold</b>" not in html
    assert '<div class="small text-body-secondary text-truncate">Company · Lyon</div>' in html
    assert 'badge-soft-secondary me-1">&lt;i&gt;x&lt;/i&gt;</span>' in html
    assert 'badge-soft-secondary me-1">VIP</span>' in html
    assert ">Bob Sales</td>" in html
    assert ">Champions</td>" in html
    assert f">12,346 {org_a.currency}</td>" in html
    assert ">24%</td>" in html


def test_a_row_without_scores_or_owner_says_so(org_a, viewer):
    CustomerFactory(organization=org_a, name="Plain", owner=None, email="p@x.example")

    html = viewer.get(_list_url(org_a), headers=HTMX).content.decode()

    assert '<span class="text-body-tertiary">Not scored</span>' in html
    assert ">—</td>" in html
    assert "p@x.example" in html


def test_a_reader_without_edit_rights_gets_no_selection_boxes(org_a, client_for, member_of):
    from tenancy.models import Role

    marketer = member_of(org_a, Role.MARKETING, email="mkt@a.example", full_name="Mkt")
    CustomerFactory(organization=org_a, name="Plain")

    response = client_for(marketer).get(_list_url(org_a), headers=HTMX)

    assert response.status_code == 200
    assert 'name="select"' not in response.content.decode()
