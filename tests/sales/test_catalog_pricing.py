"""Price resolution: which price book prices a customer's quotes, and a product's price in it."""

from decimal import Decimal

import pytest

from sales.services.catalog import products as catalog
from sales.services.catalog.pricing import (
    Reason,
    price_book_for_customer,
    price_book_resolution,
    unit_price,
    unit_prices,
)
from tests.factories import CustomerFactory, TagFactory
from tests.sales.conftest_catalog import in_org_a  # noqa: F401  (fixture)
from tests.sales.factories_catalog import (
    CustomerPriceBookFactory,
    PriceBookEntryFactory,
    PriceBookFactory,
    ProductFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_org_a")]


@pytest.fixture
def books(org_a):
    """Every kind of price book, and a customer every one of them could apply to."""
    vip = TagFactory(organization=org_a, name="VIP")
    customer = CustomerFactory(organization=org_a, tags=[vip], scores={"rfm_segment": "champions"})
    return {
        "customer": customer,
        "explicit": PriceBookFactory(organization=org_a, name="Just for them"),
        "tag": PriceBookFactory(organization=org_a, name="VIP", tag=vip),
        "segment": PriceBookFactory(organization=org_a, name="Champions", rfm_segment="champions"),
        "default": PriceBookFactory(organization=org_a, name="Standard", is_default=True),
    }


def test_an_explicitly_assigned_book_comes_first(books):
    CustomerPriceBookFactory(price_book=books["explicit"], customer=books["customer"])

    resolution = price_book_resolution(customer=books["customer"])

    assert resolution.price_book == books["explicit"]
    assert resolution.reason == Reason.ASSIGNED


def test_a_book_for_a_tag_the_customer_has_comes_next(books):
    resolution = price_book_resolution(customer=books["customer"])

    assert (resolution.price_book, resolution.reason) == (books["tag"], Reason.TAG)


def test_then_the_book_for_the_customers_rfm_segment(books):
    books["tag"].is_active = False
    books["tag"].save(update_fields=["is_active"])

    resolution = price_book_resolution(customer=books["customer"])

    assert (resolution.price_book, resolution.reason) == (books["segment"], Reason.SEGMENT)


def test_then_the_default_book(org_a, books):
    other = CustomerFactory(organization=org_a, scores={"rfm_segment": "hibernating"})

    resolution = price_book_resolution(customer=other)

    assert (resolution.price_book, resolution.reason) == (books["default"], Reason.DEFAULT)


def test_without_any_book_list_prices_apply(org_a):
    customer = CustomerFactory(organization=org_a)

    resolution = price_book_resolution(customer=customer)

    assert resolution.price_book is None
    assert resolution.reason == Reason.LIST_PRICE
    assert price_book_for_customer(customer=customer) is None


def test_an_inactive_assigned_book_is_skipped(books):
    books["explicit"].is_active = False
    books["explicit"].save(update_fields=["is_active"])
    CustomerPriceBookFactory(price_book=books["explicit"], customer=books["customer"])

    assert price_book_for_customer(customer=books["customer"]) == books["tag"]


def test_another_organizations_books_never_apply(org_a, org_b):
    PriceBookFactory(organization=org_b, is_default=True)
    customer = CustomerFactory(organization=org_a)

    assert price_book_for_customer(customer=customer) is None


def test_a_product_costs_the_books_price_or_else_its_list_price(org_a):
    book = PriceBookFactory(organization=org_a)
    in_book = PriceBookEntryFactory(price_book=book, unit_price=Decimal("80.00")).product
    not_in_book = ProductFactory(organization=org_a, list_price=Decimal("120.00"))

    prices = unit_prices(price_book=book, products=[in_book, not_in_book])

    assert prices == {in_book.pk: Decimal("80.00"), not_in_book.pk: Decimal("120.00")}
    assert unit_price(price_book=None, product=in_book) == in_book.list_price


def test_setting_prices_adds_changes_and_removes_entries(org_a):
    book = PriceBookFactory(organization=org_a)
    kept = PriceBookEntryFactory(price_book=book, unit_price=Decimal("10.00"))
    dropped = PriceBookEntryFactory(price_book=book)
    new = ProductFactory(organization=org_a)

    saved, removed = catalog.price_book_set_prices(
        price_book=book,
        prices={kept.product_id: Decimal("12.50"), dropped.product_id: None, new.pk: Decimal("7")},
    )

    assert (saved, removed) == (2, 1)
    entries = dict(book.entries.values_list("product_id", "unit_price"))
    assert entries == {kept.product_id: Decimal("12.50"), new.pk: Decimal("7.00")}


def test_only_one_book_is_the_default(org_a):
    first = catalog.price_book_create(org=org_a, data={"name": "A", "is_default": True})
    second = catalog.price_book_create(org=org_a, data={"name": "B", "is_default": True})

    first.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)


def test_assigning_and_unassigning_a_customers_book(org_a):
    customer = CustomerFactory(organization=org_a)
    wholesale, vip = PriceBookFactory(organization=org_a), PriceBookFactory(organization=org_a)

    catalog.customer_price_book_set(customer=customer, price_book=wholesale)
    catalog.customer_price_book_set(customer=customer, price_book=vip)
    assert price_book_for_customer(customer=customer) == vip

    catalog.customer_price_book_set(customer=customer, price_book=None)
    assert price_book_for_customer(customer=customer) is None
