"""Quote arithmetic: Decimal throughout, rounded half up to the cent at each step a person
would check on paper (a line's gross amount, its discount, the overall discount, the tax)."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sales.models import QuoteLine

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def money(value: Decimal) -> Decimal:
    """`value` rounded half up to the cent."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineAmounts:
    gross: Decimal  # quantity x unit price
    discount: Decimal  # the line's discount, in money
    total: Decimal  # gross - discount

    @classmethod
    def of(
        cls, *, quantity: Decimal, unit_price: Decimal, discount_percent: Decimal
    ) -> "LineAmounts":
        gross = money(Decimal(quantity) * Decimal(unit_price))
        discount = money(gross * Decimal(discount_percent) / HUNDRED)
        return cls(gross=gross, discount=discount, total=gross - discount)


def line_amounts(line: QuoteLine) -> LineAmounts:
    return LineAmounts.of(
        quantity=line.quantity, unit_price=line.unit_price, discount_percent=line.discount_percent
    )


@dataclass(frozen=True)
class QuoteTotals:
    subtotal: Decimal  # the lines' totals, after their own discounts
    discount_total: Decimal  # the overall discount on the subtotal
    tax_total: Decimal  # tax on what remains
    total: Decimal


def quote_totals(
    *, line_totals: Iterable[Decimal], discount_percent: Decimal, tax_percent: Decimal
) -> QuoteTotals:
    """The quote's totals from its lines' totals, overall discount (%) and tax (%)."""
    subtotal = money(sum(line_totals, Decimal("0")))
    discount_total = money(subtotal * Decimal(discount_percent) / HUNDRED)
    taxable = subtotal - discount_total
    tax_total = money(taxable * Decimal(tax_percent) / HUNDRED)
    return QuoteTotals(subtotal, discount_total, tax_total, taxable + tax_total)


def quote_cost_total(lines: Iterable[QuoteLine]) -> Decimal | None:
    """What the lines cost us (quantity x unit cost), or None when no line has a cost."""
    costs = [money(line.quantity * line.unit_cost) for line in lines if line.unit_cost is not None]
    return sum(costs, Decimal("0")) if costs else None
