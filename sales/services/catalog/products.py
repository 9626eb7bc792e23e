"""Writes about products, price books, their prices and the customers they are assigned to."""

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from customers.models import Customer
from sales.models import (
    CustomerPriceBook,
    OrderLine,
    PriceBook,
    PriceBookEntry,
    Product,
    QuoteLine,
)
from tenancy.models import Organization


def _apply(instance, data: dict[str, Any]) -> None:
    for name, value in data.items():
        setattr(instance, name, value)


@transaction.atomic
def product_create(*, org: Organization, data: dict[str, Any]) -> Product:
    product = Product(organization=org)
    _apply(product, data)
    product.save()
    return product


@transaction.atomic
def product_update(*, product: Product, data: dict[str, Any]) -> Product:
    _apply(product, data)
    product.save(update_fields=list(data))
    return product


@transaction.atomic
def product_delete(*, product: Product) -> None:
    """Delete a product no quote or order uses; one that is used can only be deactivated."""
    used = (
        QuoteLine.objects.filter(product=product).exists()
        or OrderLine.objects.filter(product=product).exists()
    )
    if used:
        raise ValidationError(
            _("%(name)s is on quotes or orders, so it cannot be deleted. Deactivate it instead.")
            % {"name": product.name}
        )
    product.delete()


def _single_default(price_book: PriceBook) -> None:
    if price_book.is_default:
        PriceBook.objects.filter(is_default=True).exclude(pk=price_book.pk).update(is_default=False)


@transaction.atomic
def price_book_create(*, org: Organization, data: dict[str, Any]) -> PriceBook:
    """Create a price book; a new default book takes over from the previous default."""
    price_book = PriceBook(organization=org)
    _apply(price_book, data)
    price_book.save()
    _single_default(price_book)
    return price_book


@transaction.atomic
def price_book_update(*, price_book: PriceBook, data: dict[str, Any]) -> PriceBook:
    _apply(price_book, data)
    price_book.save(update_fields=list(data))
    _single_default(price_book)
    return price_book


@transaction.atomic
def price_book_delete(*, price_book: PriceBook) -> None:
    """Delete the book with its prices; quotes priced from it keep their line prices."""
    price_book.delete()


@transaction.atomic
def price_book_set_prices(
    *, price_book: PriceBook, prices: dict[int, Decimal | None]
) -> tuple[int, int]:
    """Set the book's price of each product in `prices` ({product id: price}); None removes the
    product from the book (it then sells at list price). Returns (saved, removed)."""
    product_ids = set(Product.objects.filter(pk__in=list(prices)).values_list("pk", flat=True))
    existing = {
        entry.product_id: entry
        for entry in PriceBookEntry.objects.filter(
            price_book=price_book, product_id__in=product_ids
        )
    }
    new, changed, removed = [], [], []
    for product_id in product_ids:
        price, entry = prices[product_id], existing.get(product_id)
        if price is None:
            if entry is not None:
                removed.append(entry.pk)
        elif entry is None:
            new.append(
                PriceBookEntry(
                    organization_id=price_book.organization_id,
                    price_book=price_book,
                    product_id=product_id,
                    unit_price=price,
                )
            )
        elif entry.unit_price != price:
            entry.unit_price = price
            changed.append(entry)
    PriceBookEntry.objects.bulk_create(new)
    PriceBookEntry.objects.bulk_update(changed, ["unit_price"])
    PriceBookEntry.objects.filter(pk__in=removed).delete()
    return len(new) + len(changed), len(removed)


@transaction.atomic
def customer_price_book_set(*, customer: Customer, price_book: PriceBook | None) -> None:
    """Assign `price_book` to `customer` explicitly, or (None) go back to automatic resolution."""
    if price_book is None:
        CustomerPriceBook.objects.filter(customer=customer).delete()
        return
    CustomerPriceBook.objects.update_or_create(
        customer=customer,
        defaults={"price_book": price_book},
        create_defaults={
            "price_book": price_book,
            "organization_id": customer.organization_id,
        },
    )
