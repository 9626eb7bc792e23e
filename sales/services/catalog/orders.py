"""Writes about orders: created from an accepted quote, entered by hand, cancelled or returned.

Orders are what the analytics learn from (amount and cost per purchase), so their totals are
stored, never recomputed from lines on read. An order's total is always its subtotal less its
discount, before tax.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from sales.models import Order, OrderChannel, OrderLine, OrderStatus, Quote, QuoteLine
from sales.services.catalog.totals import line_amounts, money, quote_cost_total
from tenancy.models import User

NUMBER_PREFIX = "SO-"

# Where each status may go next: a completed order can be cancelled or returned.
TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.COMPLETED: frozenset({OrderStatus.CANCELLED, OrderStatus.RETURNED}),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.RETURNED: frozenset(),
}


class OrderError(ValidationError):
    """The order cannot do that; the message says why."""


def order_next_number() -> str:
    """The next free SO-000123 number of the current organization."""
    last = (
        Order.objects.filter(number__startswith=NUMBER_PREFIX)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    try:
        sequence = int(last.removeprefix(NUMBER_PREFIX)) if last else 0
    except ValueError:
        sequence = Order.objects.count()
    number = f"{NUMBER_PREFIX}{sequence + 1:06d}"
    while Order.objects.filter(number=number).exists():
        sequence += 1
        number = f"{NUMBER_PREFIX}{sequence + 1:06d}"
    return number


def _save_numbered(order: Order, *, numbered: bool) -> None:
    for attempt in range(5):
        if numbered:
            order.number = order_next_number()
        try:
            with transaction.atomic():
                order.save()
            return
        except IntegrityError:
            if not numbered:
                raise OrderError(
                    {"number": _("An order with this number exists already.")}
                ) from None
            if attempt == 4:
                raise


@transaction.atomic
def order_create_from_quote(*, quote: Quote, by: User | None, ordered_at: datetime) -> Order:
    """The order of an accepted quote: its lines (with prices, costs and discounts in money),
    its totals, channel "sales rep", linked to the quote and its opportunity.

    The order's total is the quote's amount before tax (subtotal less the overall discount):
    orders are revenue for the analytics and margins, and tax is not revenue. The quote keeps the
    tax and the total the customer pays.
    """
    lines = list(QuoteLine.objects.filter(quote=quote).order_by("position", "id"))
    order = Order(
        organization_id=quote.organization_id,
        customer_id=quote.customer_id,
        ordered_at=ordered_at,
        status=OrderStatus.COMPLETED,
        channel=OrderChannel.SALES,
        subtotal=quote.subtotal,
        discount=quote.discount_total,
        total=quote.subtotal - quote.discount_total,
        cost_total=quote_cost_total(lines),
        quote=quote,
        opportunity_id=quote.opportunity_id,
    )
    _save_numbered(order, numbered=True)
    order_lines = []
    for line in lines:
        amounts = line_amounts(line)
        order_lines.append(
            OrderLine(
                organization_id=order.organization_id,
                order=order,
                product_id=line.product_id,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                unit_cost=line.unit_cost,
                discount=amounts.discount,
                line_total=amounts.total,
            )
        )
    OrderLine.objects.bulk_create(order_lines)
    return order


ORDER_FIELDS = ("number", "ordered_at", "channel", "is_gift", "subtotal", "discount", "cost_total")


@transaction.atomic
def order_create(*, customer: Customer, by: User | None, data: dict[str, Any]) -> Order:
    """An order entered by hand (ORDER_FIELDS; a blank number takes the next free one). Its total
    is the subtotal less the discount."""
    subtotal = money(data.get("subtotal") or Decimal("0"))
    discount = money(data.get("discount") or Decimal("0"))
    if discount > subtotal:
        raise OrderError({"discount": _("The discount cannot be more than the subtotal.")})
    cost = data.get("cost_total")
    order = Order(
        organization_id=customer.organization_id,
        customer=customer,
        number=(data.get("number") or "").strip(),
        ordered_at=data.get("ordered_at") or timezone.now(),
        status=OrderStatus.COMPLETED,
        channel=data.get("channel") or OrderChannel.SALES,
        is_gift=bool(data.get("is_gift")),
        subtotal=subtotal,
        discount=discount,
        total=subtotal - discount,
        cost_total=money(cost) if cost is not None else None,
    )
    _save_numbered(order, numbered=not order.number)
    return order


@transaction.atomic
def order_change_status(*, order: Order, status: str, by: User | None) -> Order:
    """Cancel or return a completed order."""
    current = Order.objects.select_for_update().values_list("status", flat=True).get(pk=order.pk)
    if status not in TRANSITIONS.get(current, frozenset()):
        raise OrderError(
            _("A %(current)s order cannot become %(new)s.")
            % {
                "current": OrderStatus(current).label.lower(),
                "new": OrderStatus(status).label.lower()
                if status in OrderStatus.values
                else status,
            }
        )
    order.status = status
    order.save(update_fields=["status"])
    return order
