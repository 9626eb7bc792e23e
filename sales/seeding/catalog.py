"""Demo products and price books: a standard list, wholesale prices for resellers, VIP prices."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from customers.models import CustomerTag, Tag
from sales.models import CustomerPriceBook, PriceBook, PriceBookEntry, Product

# (category, SKU prefix, [(name, list price in dollars)], cost as a share of the price)
PRODUCTS = [
    (
        "Hardware",
        "HW",
        [
            ("Barcode scanner", 189),
            ("Receipt printer", 249),
            ("Point-of-sale terminal", 1290),
            ("Label printer", 399),
            ("Rugged tablet", 899),
            ("Cash drawer", 129),
            ("Handheld computer", 1490),
        ],
        0.68,
    ),
    (
        "Supplies",
        "SUP",
        [
            ("Thermal paper rolls (50)", 45),
            ("Shipping labels (1,000)", 29),
            ("Printer ribbons (10)", 79),
            ("Packing tape (36)", 59),
            ("Cleaning kit", 19),
            ("Cable set", 25),
            ("Carrying case", 39),
        ],
        0.55,
    ),
    (
        "Software",
        "SW",
        [
            ("Inventory module", 1200),
            ("Analytics add-on", 2400),
            ("Mobile app licence", 350),
            ("Loyalty module", 900),
            ("E-commerce connector", 1500),
            ("Store licence (annual)", 4800),
        ],
        0.35,
    ),
    (
        "Services",
        "SRV",
        [
            ("Installation", 600),
            ("Data migration", 3500),
            ("Custom integration", 9500),
            ("Onsite visit", 450),
            ("Network audit", 1800),
            ("Project management (day)", 1100),
        ],
        0.6,
    ),
    (
        "Training",
        "TRN",
        [
            ("Online training seat", 149),
            ("Onsite training day", 1600),
            ("Administrator course", 790),
            ("Certification exam", 250),
        ],
        0.5,
    ),
    (
        "Support plans",
        "SUPP",
        [
            ("Basic support (year)", 300),
            ("Premium support (year)", 1200),
            ("24/7 support (year)", 3600),
            ("Extended warranty", 220),
        ],
        0.4,
    ),
    (
        "Accessories",
        "ACC",
        [
            ("Charging dock", 89),
            ("Wall mount", 49),
            ("Spare battery", 69),
            ("Stylus pack", 15),
            ("Card reader", 99),
            ("Customer display", 279),
        ],
        0.62,
    ),
]
WHOLESALE_DISCOUNT = Decimal("0.15")
VIP_DISCOUNT = Decimal("0.10")
WHOLESALE_ACCOUNTS = 200  # resellers with the wholesale price book assigned explicitly


@dataclass
class CatalogRows:
    products: list[Product]  # sorted by list price
    standard: PriceBook
    wholesale: PriceBook
    vip: PriceBook
    prices: dict[tuple[int, int], Decimal]  # (price book id, product id) -> unit price


def seed_catalog(*, org, rng: np.random.Generator) -> CatalogRows:
    products = []
    for category, prefix, items, cost_share in PRODUCTS:
        for number, (name, price) in enumerate(items, start=1):
            list_price = Decimal(price)
            cost = list_price * Decimal(str(cost_share)) * Decimal(str(rng.uniform(0.9, 1.1)))
            products.append(
                Product(
                    organization=org,
                    sku=f"{prefix}-{number:03d}",
                    name=name,
                    category=category,
                    description=f"{name} ({category.lower()}).",
                    list_price=list_price,
                    unit_cost=cost.quantize(Decimal("0.01")),
                    is_active=not (category == "Hardware" and number == len(items)),
                )
            )
    Product.objects.bulk_create(products)
    products.sort(key=lambda p: (p.list_price, p.sku))
    vip_tag = Tag.objects.filter(name="VIP").first()
    standard, wholesale, vip = PriceBook.objects.bulk_create(
        [
            PriceBook(
                organization=org,
                name="Standard",
                description="List prices.",
                is_default=True,
            ),
            PriceBook(
                organization=org,
                name="Wholesale",
                description="15% off list for resellers, assigned per customer.",
            ),
            PriceBook(
                organization=org,
                name="VIP",
                description="10% off list for VIP customers and champions.",
                tag=vip_tag,
                rfm_segment="champions",
            ),
        ]
    )
    prices = {}
    entries = []
    for book, discount in ((standard, 0), (wholesale, WHOLESALE_DISCOUNT), (vip, VIP_DISCOUNT)):
        for product in products:
            price = (product.list_price * (1 - Decimal(discount))).quantize(Decimal("0.01"))
            prices[(book.pk, product.pk)] = price
            entries.append(
                PriceBookEntry(organization=org, price_book=book, product=product, unit_price=price)
            )
    PriceBookEntry.objects.bulk_create(entries)
    resellers = list(
        CustomerTag.objects.filter(tag__name="Reseller")
        .order_by("customer_id")
        .values_list("customer_id", flat=True)[:WHOLESALE_ACCOUNTS]
    )
    CustomerPriceBook.objects.bulk_create(
        [
            CustomerPriceBook(organization=org, customer_id=customer, price_book=wholesale)
            for customer in resellers
        ]
    )
    return CatalogRows(products, standard, wholesale, vip, prices)
