"""Which prices a customer gets: the price book resolution behind one-to-one pricing.

A quote is priced from one price book, resolved for its customer in this order (first match
wins): the book assigned to the customer explicitly, an active book for a tag the customer has,
an active book for the customer's RFM segment, the default book. Without any, list prices apply;
a product missing from the resolved book is also priced at its list price.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Subquery
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, CustomerTag
from sales.models import CustomerPriceBook, PriceBook, PriceBookEntry, Product


class Reason:
    ASSIGNED = "assigned"
    TAG = "tag"
    SEGMENT = "segment"
    DEFAULT = "default"
    LIST_PRICE = "list_price"


REASON_LABELS = {
    Reason.ASSIGNED: _("assigned to this customer"),
    Reason.TAG: _("for a tag this customer has"),
    Reason.SEGMENT: _("for this customer's RFM segment"),
    Reason.DEFAULT: _("the default price book"),
    Reason.LIST_PRICE: _("no price book applies: list prices"),
}


@dataclass(frozen=True)
class PriceResolution:
    price_book: PriceBook | None
    reason: str

    @property
    def reason_label(self) -> str:
        return str(REASON_LABELS[self.reason])


def price_book_resolution(*, customer: Customer) -> PriceResolution:
    """The price book for `customer` and why it applies (at most four small queries)."""
    explicit = (
        CustomerPriceBook.objects.filter(customer=customer, price_book__is_active=True)
        .select_related("price_book")
        .first()
    )
    if explicit is not None:
        return PriceResolution(explicit.price_book, Reason.ASSIGNED)
    active = PriceBook.objects.filter(is_active=True).order_by("name", "id")
    tag_ids = CustomerTag.objects.filter(customer=customer).values("tag_id")
    tagged = active.filter(tag__in=tag_ids).first()
    if tagged is not None:
        return PriceResolution(tagged, Reason.TAG)
    # The customer's RFM segment lives with its scores (analytics.CustomerScore): read it in
    # the same query (NULL, matching no book, when the customer is not scored).
    scored_segment = Customer.objects.filter(pk=customer.pk).values("scores__rfm_segment")[:1]
    segment = active.exclude(rfm_segment="").filter(rfm_segment=Subquery(scored_segment)).first()
    if segment is not None:
        return PriceResolution(segment, Reason.SEGMENT)
    default = active.filter(is_default=True).first()
    if default is not None:
        return PriceResolution(default, Reason.DEFAULT)
    return PriceResolution(None, Reason.LIST_PRICE)


def price_book_for_customer(*, customer: Customer) -> PriceBook | None:
    """The price book that prices quotes for `customer`; None means list prices."""
    return price_book_resolution(customer=customer).price_book


def unit_prices(*, price_book: PriceBook | None, products: Iterable[Product]) -> dict[int, Decimal]:
    """{product id: unit price} from `price_book`, the list price where it has no entry."""
    products = list(products)
    prices = {product.pk: product.list_price for product in products}
    if price_book is not None and products:
        entries = PriceBookEntry.objects.filter(
            price_book=price_book, product_id__in=list(prices)
        ).values_list("product_id", "unit_price")
        prices.update(entries)
    return prices


def unit_price(*, price_book: PriceBook | None, product: Product) -> Decimal:
    return unit_prices(price_book=price_book, products=[product])[product.pk]
