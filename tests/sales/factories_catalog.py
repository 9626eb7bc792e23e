"""Factories of the catalog tests: products, price books, quotes and their lines, orders."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from tests.factories import CustomerFactory, OrganizationFactory, TenantFactory


class ProductFactory(TenantFactory):
    class Meta:
        model = "sales.Product"

    organization = factory.SubFactory(OrganizationFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    category = "Hardware"
    list_price = Decimal("100.00")
    unit_cost = Decimal("60.00")


class PriceBookFactory(TenantFactory):
    class Meta:
        model = "sales.PriceBook"

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Price book {n}")


class PriceBookEntryFactory(TenantFactory):
    class Meta:
        model = "sales.PriceBookEntry"

    price_book = factory.SubFactory(PriceBookFactory)
    organization = factory.SelfAttribute("price_book.organization")
    product = factory.SubFactory(
        ProductFactory, organization=factory.SelfAttribute("..organization")
    )
    unit_price = Decimal("90.00")


class CustomerPriceBookFactory(TenantFactory):
    class Meta:
        model = "sales.CustomerPriceBook"

    price_book = factory.SubFactory(PriceBookFactory)
    organization = factory.SelfAttribute("price_book.organization")
    customer = factory.SubFactory(
        CustomerFactory, organization=factory.SelfAttribute("..organization")
    )


class QuoteFactory(TenantFactory):
    """A draft quote with no lines (add them with QuoteLineFactory, or through the services so
    that the totals are computed)."""

    class Meta:
        model = "sales.Quote"

    customer = factory.SubFactory(CustomerFactory)
    organization = factory.SelfAttribute("customer.organization")
    number = factory.Sequence(lambda n: f"QT-{n:05d}")
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=30))


class QuoteLineFactory(TenantFactory):
    class Meta:
        model = "sales.QuoteLine"

    quote = factory.SubFactory(QuoteFactory)
    organization = factory.SelfAttribute("quote.organization")
    description = factory.Sequence(lambda n: f"Line {n}")
    quantity = Decimal("1")
    unit_price = Decimal("100.00")
    line_total = Decimal("100.00")


class OrderFactory(TenantFactory):
    class Meta:
        model = "sales.Order"

    customer = factory.SubFactory(CustomerFactory)
    organization = factory.SelfAttribute("customer.organization")
    number = factory.Sequence(lambda n: f"ORD-{n:06d}")
    subtotal = Decimal("250.00")
    total = Decimal("250.00")
    cost_total = Decimal("150.00")


class OrderLineFactory(TenantFactory):
    class Meta:
        model = "sales.OrderLine"

    order = factory.SubFactory(OrderFactory)
    organization = factory.SelfAttribute("order.organization")
    description = factory.Sequence(lambda n: f"Item {n}")
    unit_price = Decimal("250.00")
    unit_cost = Decimal("150.00")
    line_total = Decimal("250.00")


def sent_quote(org, **fields):
    """A sent quote of `org` with one product line (totals computed by the services)."""
    from sales.services.catalog import quotes
    from tenancy.context import tenant_context

    product = ProductFactory(organization=org)
    customer = fields.pop("customer", None) or CustomerFactory(
        organization=org, email="buyer@example.com"
    )
    with tenant_context(org):
        quote = quotes.quote_create(customer=customer, by=None, **fields)
        quotes.quote_line_add(quote=quote, product=product, quantity=Decimal("2"))
        quotes.quote_mark_sent(quote=quote, by=None)
    return quote
