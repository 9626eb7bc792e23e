"""Display helpers of the catalog pages: money with its currency, quantities without noise."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

register = template.Library()
CENT = Decimal("0.01")


@register.filter
def money(value, currency: str = "") -> str:
    """1234.5 -> "1,234.50 USD"; None -> "—"."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return "—"
    # Both languages group thousands with "," and mark decimals with "."; format() is ten times
    # faster than django.utils.formats.number_format, which matters on 50-row lists.
    text = format(amount.quantize(CENT, rounding=ROUND_HALF_UP), ",.2f")
    return f"{text} {currency}".strip()


@register.filter
def plain_number(value) -> str:
    """A Decimal without trailing zeros: 2.000 -> "2", 12.50 -> "12.5"."""
    if value is None or value == "":
        return ""
    try:
        normalized = Decimal(value).normalize()
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    return format(normalized, "f")


QUOTE_TONES = {
    "draft": "secondary",
    "sent": "info",
    "accepted": "success",
    "rejected": "danger",
    "expired": "warning",
}
ORDER_TONES = {"completed": "success", "cancelled": "secondary", "returned": "warning"}


@register.filter
def quote_tone(status: str) -> str:
    return QUOTE_TONES.get(status, "secondary")


@register.filter
def order_tone(status: str) -> str:
    return ORDER_TONES.get(status, "secondary")


@register.filter
def order_margin_amount(order) -> Decimal | None:
    """The order's total less its cost, None when the cost is unknown."""
    if order.cost_total is None:
        return None
    return order.total - order.cost_total


@register.filter
def segment_label(value: str) -> str:
    """The name of an RFM segment key ("champions" -> "Champions"), the key if unknown."""
    from customers.models import RfmSegment

    try:
        return str(RfmSegment(value).label)
    except ValueError:
        return value


@register.simple_tag
def opportunity_quotes(opportunity) -> list:
    """The quotes of an opportunity, newest first (for its detail page's quotes section)."""
    from sales.selectors.catalog import quote_list_for_opportunity

    return quote_list_for_opportunity(opportunity=opportunity)
