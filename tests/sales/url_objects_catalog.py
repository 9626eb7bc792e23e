"""URL registry entries of the catalog area (see tests/url_objects.py)."""

from django.core.cache import cache

from tenancy.models import Organization
from tests.factories import ContactFactory, CustomerFactory, TagFactory
from tests.sales.factories_catalog import (
    CustomerPriceBookFactory,
    OrderFactory,
    OrderLineFactory,
    PriceBookEntryFactory,
    ProductFactory,
    QuoteFactory,
    QuoteLineFactory,
    sent_quote,
)
from tests.url_objects import url_objects


@url_objects("sales:product-edit", "sales:product-delete")
def _a_product(org: Organization) -> dict:
    return {"pk": ProductFactory(organization=org).pk}


@url_objects(
    "sales:pricebook-detail",
    "sales:pricebook-edit",
    "sales:pricebook-delete",
)
def _a_price_book(org: Organization) -> dict:
    entry = PriceBookEntryFactory(organization=org)
    return {"pk": entry.price_book_id}


@url_objects("sales:customer-pricebook", "sales:customer-orders")
def _a_customer_with_a_price_book_and_orders(org: Organization) -> dict:
    tag = TagFactory(organization=org)
    assignment = CustomerPriceBookFactory(
        organization=org, customer=CustomerFactory(organization=org, tags=[tag])
    )
    OrderFactory(customer=assignment.customer)
    return {"pk": assignment.customer_id}


@url_objects(
    "sales:quote-detail",
    "sales:quote-edit",
    "sales:quote-line-add",
    "sales:quote-send",
    "sales:quote-mark-sent",
    "sales:quote-new-version",
    "sales:quote-print",
)
def _a_draft_quote(org: Organization) -> dict:
    customer = CustomerFactory(organization=org, email="buyer@example.com")
    quote = QuoteFactory(customer=customer, contact=ContactFactory(customer=customer))
    QuoteLineFactory(quote=quote, product=ProductFactory(organization=org))
    return {"pk": quote.pk}


@url_objects("sales:quote-accept", "sales:quote-reject")
def _a_sent_quote(org: Organization) -> dict:
    return {"pk": sent_quote(org).pk}


@url_objects("sales:quote-line-update", "sales:quote-line-delete")
def _a_quote_line(org: Organization) -> dict:
    return {
        "pk": QuoteLineFactory(quote=QuoteFactory(customer=CustomerFactory(organization=org))).pk
    }


@url_objects("sales:order-detail", "sales:order-status")
def _an_order(org: Organization) -> dict:
    return {
        "pk": OrderLineFactory(
            order=OrderFactory(customer=CustomerFactory(organization=org))
        ).order_id
    }


@url_objects("sales:order-import-report")
def _an_import_report(org: Organization) -> dict:
    token = f"report{org.pk}"
    cache.set(f"sales:order-import-report:{org.pk}:{token}", "Row,Reason\n2,Bad\n", 600)
    return {"token": token}
