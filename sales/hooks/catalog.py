"""What the catalog adds to other apps: orders and quotes on the customer timeline, and orders,
quotes and an assigned price book following their customer through a merge."""

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.merge import merge_mover, register_related
from customers.models import Customer
from customers.timeline import TimelineEntry, fetch_page, register_source
from sales.models import CustomerPriceBook, Order, Quote
from sales.templatetags.catalog_tags import ORDER_TONES, QUOTE_TONES, money
from tenancy.context import require_org

register_related("orders", Order)
register_related("quotes", Quote)


def _undo_price_book(*, survivor: Customer, merged: Customer, moved: list[int]) -> None:
    CustomerPriceBook.objects.filter(pk__in=moved, customer=survivor).update(customer=merged)


@merge_mover("customer_price_book", undo=_undo_price_book)
def _move_price_book(*, survivor: Customer, merged: Customer) -> list[int]:
    # One explicit price book per customer: the survivor's own assignment wins.
    if CustomerPriceBook.objects.filter(customer=survivor).exists():
        return []
    ids = list(CustomerPriceBook.objects.filter(customer=merged).values_list("pk", flat=True))
    CustomerPriceBook.objects.filter(pk__in=ids).update(customer=survivor)
    return ids


@register_source("order", gettext_lazy("Orders"))
def _orders(*, customer, before, limit: int) -> list[TimelineEntry]:
    org = require_org()
    rows = fetch_page(
        Order.objects.filter(customer=customer).only(
            "id", "organization_id", "number", "ordered_at", "status", "channel", "is_gift", "total"
        ),
        field_name="ordered_at",
        kind="order",
        before=before,
        limit=limit,
    )
    entries = []
    for order in rows:
        detail = order.get_channel_display()
        if order.is_gift:
            detail = _("%(channel)s · gift") % {"channel": detail}
        entries.append(
            TimelineEntry(
                when=order.ordered_at,
                kind="order",
                pk=order.pk,
                title=_("Order %(number)s · %(total)s")
                % {"number": order.number, "total": money(order.total, org.currency)},
                detail=str(detail),
                url=reverse("sales:order-detail", kwargs={"org_slug": org.slug, "pk": order.pk}),
                badge=_("Order %(status)s") % {"status": order.get_status_display().lower()},
                badge_tone=ORDER_TONES.get(order.status, "secondary"),
            )
        )
    return entries


@register_source("quote", gettext_lazy("Quotes"))
def _quotes(*, customer, before, limit: int) -> list[TimelineEntry]:
    org = require_org()
    rows = fetch_page(
        Quote.objects.filter(customer=customer)
        .select_related("created_by")
        .only(
            "id",
            "organization_id",
            "number",
            "version",
            "status",
            "total",
            "valid_until",
            "created_at",
            "created_by__full_name",
            "created_by__email",
        ),
        field_name="created_at",
        kind="quote",
        before=before,
        limit=limit,
    )
    return [
        TimelineEntry(
            when=quote.created_at,
            kind="quote",
            pk=quote.pk,
            title=_("Quote %(number)s v%(version)s · %(total)s")
            % {
                "number": quote.number,
                "version": quote.version,
                "total": money(quote.total, org.currency),
            },
            detail=_("Valid until %(date)s") % {"date": date_format(quote.valid_until)},
            url=reverse("sales:quote-detail", kwargs={"org_slug": org.slug, "pk": quote.pk}),
            badge=_("Quote %(status)s") % {"status": quote.get_status_display().lower()},
            badge_tone=QUOTE_TONES.get(quote.status, "secondary"),
            actor=str(quote.created_by or ""),
        )
        for quote in rows
    ]
