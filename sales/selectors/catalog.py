"""Reads of the catalog area: products, price books, quotes, orders, and the customer picker.

Object getters answer 404 for "not in this organization" and "does not exist" alike (the
managers are scoped to the current organization). List pages are keyset pages
(crm_site.pagination), so a customer with thousands of orders pages as fast as one with ten.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from crm_site.pagination import KeysetPage, SortKey, keyset_page
from crm_site.text_lookups import IContains
from customers.filters import search_condition
from customers.models import Customer
from customers.selectors import customer_base
from sales.forms.catalog import OrderFilterForm, ProductFilterForm, QuoteFilterForm
from sales.models import (
    CustomerPriceBook,
    Opportunity,
    Order,
    OrderChannel,
    OrderLine,
    OrderStatus,
    PriceBook,
    PriceBookEntry,
    Product,
    Quote,
    QuoteLine,
    QuoteStatus,
)
from tenancy.models import Organization, User

ORDER_COLUMNS = (
    "id",
    "organization_id",
    "number",
    "customer_id",
    "ordered_at",
    "status",
    "channel",
    "is_gift",
    "total",
    "cost_total",
)


@dataclass
class FilteredPage:
    form: object
    page: KeysetPage


def _form(form_class, params):
    form = form_class(params if params else None)
    return form, (form.cleaned_data if form.is_valid() else None)


# --- Products -------------------------------------------------------------------------------


def product_list_page(*, org: Organization, params, base_url: str) -> FilteredPage:
    """Products in name order, searched by name or SKU, by category, active or not."""
    form, data = _form(ProductFilterForm, params)
    products = Product.objects.all()
    if data is None and form.is_bound:
        products = products.none()
    data = data or {}
    if data.get("q"):
        q = data["q"].strip()
        products = products.filter(Q(IContains(F("name"), q)) | Q(sku__iexact=q))
    if data.get("category"):
        products = products.filter(category=data["category"])
    status = data.get("status") or "active"
    if status != "all":
        products = products.filter(is_active=status == "active")
    page = keyset_page(
        products,
        key=SortKey("name", descending=False),
        params=params,
        base_url=base_url,
        hx_target="#product-results",
    )
    return FilteredPage(form=form, page=page)


def product_get(*, org: Organization, pk: int) -> Product:
    return get_object_or_404(Product.objects.all(), pk=pk)


def product_categories(*, org: Organization) -> list[str]:
    return list(
        Product.objects.exclude(category="")
        .order_by("category")
        .values_list("category", flat=True)
        .distinct()
    )


def product_choices(*, org: Organization) -> QuerySet[Product]:
    """Active products for a quote line, in name order."""
    return Product.objects.filter(is_active=True).order_by("name", "id")


# --- Price books ----------------------------------------------------------------------------


def price_book_list(*, org: Organization) -> list[PriceBook]:
    """Every price book with its number of prices and of customers assigned to it."""
    entries = PriceBookEntry.objects.filter(price_book=OuterRef("pk")).values("price_book")
    assigned = CustomerPriceBook.objects.filter(price_book=OuterRef("pk")).values("price_book")
    return list(
        PriceBook.objects.select_related("tag")
        .annotate(
            entry_count=_count(entries),
            customer_count=_count(assigned),
        )
        .order_by("-is_default", "name", "id")
    )


def _count(queryset):
    from django.db.models import IntegerField, Subquery
    from django.db.models.functions import Coalesce

    counted = queryset.annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def price_book_get(*, org: Organization, pk: int) -> PriceBook:
    return get_object_or_404(PriceBook.objects.select_related("tag"), pk=pk)


def price_book_grid_page(
    *, org: Organization, price_book: PriceBook, params, base_url: str
) -> FilteredPage:
    """A page of products (filtered as the product list) with `book_price`: the book's price
    of each, None where it sells at list price."""
    result = product_list_page(org=org, params=params, base_url=base_url)
    result.page.hx_target = "#price-grid"
    products = result.page.items
    prices = dict(
        PriceBookEntry.objects.filter(
            price_book=price_book, product_id__in=[p.pk for p in products]
        ).values_list("product_id", "unit_price")
    )
    for product in products:
        product.book_price = prices.get(product.pk)
    return result


def customer_price_book_get(*, customer: Customer) -> CustomerPriceBook | None:
    return CustomerPriceBook.objects.filter(customer=customer).select_related("price_book").first()


# --- Quotes ---------------------------------------------------------------------------------


def _with_superseded(quotes: QuerySet[Quote]) -> QuerySet[Quote]:
    newer = Quote.objects.filter(number=OuterRef("number"), version__gt=OuterRef("version"))
    return quotes.annotate(is_superseded=Exists(newer))


def quote_list_page(*, org: Organization, user: User, params, base_url: str) -> FilteredPage:
    """Quotes, newest first: the latest version of each unless older ones are asked for."""
    form, data = _form(QuoteFilterForm, params)
    quotes = _with_superseded(Quote.objects.select_related("customer", "created_by"))
    if data is None and form.is_bound:
        quotes = quotes.none()
    data = data or {}
    if not data.get("versions"):
        quotes = quotes.filter(is_superseded=False)
    if data.get("status"):
        quotes = quotes.filter(status=data["status"])
    if data.get("mine"):
        quotes = quotes.filter(created_by=user)
    if data.get("q"):
        q = data["q"].strip()
        quotes = quotes.filter(Q(number__iexact=q) | Q(IContains(F("customer__name"), q)))
    page = keyset_page(
        quotes,
        key=SortKey("created_at"),
        params=params,
        base_url=base_url,
        hx_target="#quote-results",
    )
    statuses = {value: str(label) for value, label in QuoteStatus.choices}
    for quote in page.items:
        quote.status_label = statuses.get(quote.status, quote.status)
    return FilteredPage(form=form, page=page)


def quote_get(*, org: Organization, pk: int) -> Quote:
    """A quote of `org` with its customer, contact, opportunity and price book, and whether a
    newer version supersedes it; 404 otherwise."""
    quotes = _with_superseded(
        Quote.objects.select_related(
            "customer", "contact", "opportunity", "price_book", "created_by", "organization"
        )
    )
    return get_object_or_404(quotes, pk=pk)


def quote_line_get(*, org: Organization, pk: int) -> QuoteLine:
    return get_object_or_404(
        QuoteLine.objects.select_related("quote", "quote__customer", "quote__organization"), pk=pk
    )


def quote_lines(*, quote: Quote) -> list[QuoteLine]:
    return list(
        QuoteLine.objects.filter(quote=quote).select_related("product").order_by("position", "id")
    )


def quote_versions(*, quote: Quote) -> list[Quote]:
    return list(
        Quote.objects.filter(number=quote.number)
        .only("id", "organization_id", "number", "version", "status", "total", "created_at")
        .order_by("-version")
    )


def quote_order(*, quote: Quote) -> Order | None:
    """The order an accepted quote became."""
    return Order.objects.filter(quote=quote).only("id", "organization_id", "number").first()


def quote_list_for_opportunity(*, opportunity: Opportunity) -> list[Quote]:
    """Every version of the opportunity's quotes, newest first, marked when superseded."""
    quotes = _with_superseded(Quote.objects.filter(opportunity=opportunity))
    return list(quotes.order_by("-created_at", "-id")[:50])


def opportunity_get(*, org: Organization, pk: int) -> Opportunity:
    return get_object_or_404(Opportunity.objects.select_related("customer"), pk=pk)


# --- Orders ---------------------------------------------------------------------------------


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(0)))


def _with_labels(orders: list[Order]) -> list[Order]:
    """Give each order `status_label` and `channel_label`, translated once per page rather than
    through get_FOO_display on every row (which costs about a millisecond a call)."""
    statuses = {value: str(label) for value, label in OrderStatus.choices}
    channels = {value: str(label) for value, label in OrderChannel.choices}
    for order in orders:
        order.status_label = statuses.get(order.status, order.status)
        order.channel_label = channels.get(order.channel, order.channel)
    return orders


def order_list_page(*, org: Organization, params, base_url: str) -> FilteredPage:
    """Orders, newest first, filtered by status, channel, date range, customer and number."""
    form, data = _form(OrderFilterForm, params)
    orders = Order.objects.only(*ORDER_COLUMNS, "customer__name").select_related("customer")
    if data is None and form.is_bound:
        orders = orders.none()
    data = data or {}
    for name in ("status", "channel"):
        if data.get(name):
            orders = orders.filter(**{name: data[name]})
    if data.get("customer"):
        orders = orders.filter(customer_id=data["customer"])
    if data.get("date_from"):
        orders = orders.filter(ordered_at__gte=_day_start(data["date_from"]))
    if data.get("date_to"):
        orders = orders.filter(ordered_at__lt=_day_start(data["date_to"] + timedelta(days=1)))
    if data.get("q"):
        orders = orders.filter(number__iexact=data["q"].strip())
    page = keyset_page(
        orders,
        key=SortKey("ordered_at"),
        params=params,
        base_url=base_url,
        hx_target="#order-results",
    )
    _with_labels(page.items)
    return FilteredPage(form=form, page=page)


def order_get(*, org: Organization, pk: int) -> Order:
    return get_object_or_404(
        Order.objects.select_related("customer", "quote", "opportunity", "organization"), pk=pk
    )


def order_lines(*, order: Order) -> list[OrderLine]:
    return list(OrderLine.objects.filter(order=order).select_related("product").order_by("id"))


@dataclass(frozen=True)
class Margin:
    amount: Decimal  # total - cost
    percent: Decimal | None  # of the total, None for a zero total


def order_margin(order: Order) -> Margin | None:
    """What the order earned over its cost; None when its cost is unknown."""
    if order.cost_total is None:
        return None
    amount = order.total - order.cost_total
    percent = (amount * 100 / order.total).quantize(Decimal("0.1")) if order.total else None
    return Margin(amount=amount, percent=percent)


def customer_order_page(
    *, org: Organization, customer: Customer, params, base_url: str, per_page: int = 50
) -> KeysetPage:
    """One keyset page of a customer's orders, newest first, over the (organization, customer,
    -ordered_at, -id) index: every page costs the same at 5,000 orders as at 50."""
    page = keyset_page(
        Order.objects.filter(customer=customer).only(*ORDER_COLUMNS),
        key=SortKey("ordered_at"),
        params=params,
        base_url=base_url,
        per_page=per_page,
        hx_target="#customer-order-results",
    )
    _with_labels(page.items)
    return page


# --- Customers --------------------------------------------------------------------------------


def customer_get(*, org: Organization, pk: int) -> Customer:
    """A live customer of `org` (not merged away), or 404."""
    return get_object_or_404(customer_base(org=org), pk=pk)


def customer_find(*, org: Organization, pk: int) -> Customer | None:
    return customer_base(org=org).only("id", "organization_id", "name").filter(pk=pk).first()


def customer_search(*, org: Organization, q: str, limit: int = 20) -> list[Customer]:
    """Live customers whose name, email or phone contains `q`, for picking one."""
    customers = customer_base(org=org).filter(erased_at__isnull=True)
    if q.strip():
        customers = customers.filter(search_condition(q))
    return list(
        customers.only("id", "organization_id", "name", "email", "city").order_by("name", "id")[
            :limit
        ]
    )
