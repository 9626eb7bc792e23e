"""Writes about quotes: building them line by line, versions, sending, and the way they end.

The arithmetic (Decimal, rounded half up to the cent) lives in `totals`.

Statuses move draft -> sent -> accepted | rejected | expired (a sent quote expires the day after
its validity date; a draft, which the customer has not seen, does not). Only the latest version
of a draft is editable; `quote_new_version` copies any quote that was not
accepted into a new draft version and leaves the old one read-only.
"""

import importlib
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from customers.models import Contact, Customer
from sales.models import (
    Opportunity,
    Order,
    PriceBook,
    Product,
    Quote,
    QuoteLine,
    QuoteStatus,
    Stage,
    StageChange,
)
from sales.services.catalog.pricing import price_book_for_customer, unit_price
from sales.services.catalog.totals import line_amounts, quote_totals
from tenancy.models import User

DEFAULT_VALIDITY_DAYS = 30
NUMBER_PREFIX = "Q-"

# Where each status may go next (accepting and expiring have services of their own).
TRANSITIONS: dict[str, frozenset[str]] = {
    QuoteStatus.DRAFT: frozenset({QuoteStatus.SENT}),
    QuoteStatus.SENT: frozenset({QuoteStatus.ACCEPTED, QuoteStatus.REJECTED, QuoteStatus.EXPIRED}),
    QuoteStatus.ACCEPTED: frozenset(),
    QuoteStatus.REJECTED: frozenset(),
    QuoteStatus.EXPIRED: frozenset(),
}


class QuoteError(ValidationError):
    """The quote cannot do that now; the message says why, for the person who tried."""


def _recalculate(quote: Quote) -> list[QuoteLine]:
    """Write every line's total and the quote's totals; returns the lines."""
    lines = list(QuoteLine.objects.filter(quote=quote).order_by("position", "id"))
    changed = []
    for line in lines:
        total = line_amounts(line).total
        if line.line_total != total:
            line.line_total = total
            changed.append(line)
    QuoteLine.objects.bulk_update(changed, ["line_total"])
    totals = quote_totals(
        line_totals=[line.line_total for line in lines],
        discount_percent=quote.discount_percent,
        tax_percent=quote.tax_percent,
    )
    quote.subtotal, quote.discount_total = totals.subtotal, totals.discount_total
    quote.tax_total, quote.total = totals.tax_total, totals.total
    quote.save(update_fields=["subtotal", "discount_total", "tax_total", "total"])
    return lines


# --- Reading a quote's state ------------------------------------------------------------------


def quote_is_superseded(quote: Quote) -> bool:
    """Whether a newer version of the quote exists (which makes this one read-only)."""
    cached = getattr(quote, "is_superseded", None)
    if cached is not None:
        return bool(cached)
    return Quote.objects.filter(number=quote.number, version__gt=quote.version).exists()


def quote_is_past_validity(quote: Quote, today: date | None = None) -> bool:
    return quote.valid_until < (today or timezone.localdate())


def quote_is_editable(quote: Quote) -> bool:
    return quote.status == QuoteStatus.DRAFT and not quote_is_superseded(quote)


def _ensure_editable(quote: Quote) -> None:
    if quote.status != QuoteStatus.DRAFT:
        raise QuoteError(_("Only a draft can be changed. Make a new version to change it."))
    if quote_is_superseded(quote):
        raise QuoteError(_("A newer version of this quote exists; this one is read-only."))


def _ensure_can_move(quote: Quote, status: str) -> None:
    if status not in TRANSITIONS[quote.status]:
        raise QuoteError(
            _("A quote that is %(current)s cannot become %(new)s.")
            % {
                "current": QuoteStatus(quote.status).label.lower(),
                "new": QuoteStatus(status).label.lower(),
            }
        )
    if quote_is_superseded(quote):
        raise QuoteError(_("A newer version of this quote exists; this one is read-only."))


def _lock(quote: Quote) -> Quote:
    """The quote's row, locked for the rest of the transaction, read fresh."""
    locked = Quote.objects.select_for_update().get(pk=quote.pk)
    for name in ("status", "sent_at", "decided_at", "valid_until"):
        setattr(quote, name, getattr(locked, name))
    return quote


# --- Creating and editing ---------------------------------------------------------------------


def _next_number() -> str:
    last = (
        Quote.objects.filter(number__startswith=NUMBER_PREFIX, version=1)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    try:
        sequence = int(last.removeprefix(NUMBER_PREFIX)) if last else 0
    except ValueError:
        sequence = Quote.objects.filter(version=1).count()
    return f"{NUMBER_PREFIX}{sequence + 1:06d}"


def _save_numbered(quote: Quote, numbered: bool) -> None:
    """Save a new quote; with `numbered`, give it the next free number (retrying on a race)."""
    for attempt in range(5):
        if numbered:
            quote.number = _next_number()
        try:
            with transaction.atomic():
                quote.save()
            return
        except IntegrityError:
            if attempt == 4 or not numbered:
                raise


def _check_relations(
    *, customer: Customer, contact: Contact | None, opportunity: Opportunity | None
) -> None:
    if contact is not None and contact.customer_id != customer.pk:
        raise QuoteError(_("That contact works for another customer."))
    if opportunity is not None and opportunity.customer_id != customer.pk:
        raise QuoteError(_("That opportunity belongs to another customer."))


@transaction.atomic
def quote_create(
    *,
    customer: Customer,
    by: User | None,
    contact: Contact | None = None,
    opportunity: Opportunity | None = None,
    price_book: PriceBook | None = None,
    resolve_price_book: bool = True,
    valid_until: date | None = None,
    discount_percent: Decimal = Decimal("0"),
    tax_percent: Decimal = Decimal("0"),
    notes: str = "",
) -> Quote:
    """A new draft quote (version 1, next number) for `customer`.

    Without an explicit `price_book`, the customer's is resolved (`pricing`) unless
    `resolve_price_book` is False (then list prices apply).
    """
    _check_relations(customer=customer, contact=contact, opportunity=opportunity)
    if price_book is None and resolve_price_book:
        price_book = price_book_for_customer(customer=customer)
    quote = Quote(
        organization_id=customer.organization_id,
        customer=customer,
        contact=contact,
        opportunity=opportunity,
        price_book=price_book,
        valid_until=valid_until or timezone.localdate() + timedelta(days=DEFAULT_VALIDITY_DAYS),
        discount_percent=discount_percent,
        tax_percent=tax_percent,
        notes=notes,
        created_by=by,
    )
    _save_numbered(quote, numbered=True)
    return quote


QUOTE_FIELDS = ("contact", "price_book", "valid_until", "discount_percent", "tax_percent", "notes")


@transaction.atomic
def quote_update(*, quote: Quote, data: dict[str, Any]) -> Quote:
    """Change the header of a draft (QUOTE_FIELDS) and recompute its totals. A new price book
    applies to lines added from now on; existing lines keep their prices."""
    _lock(quote)
    _ensure_editable(quote)
    fields = [name for name in QUOTE_FIELDS if name in data]
    for name in fields:
        setattr(quote, name, data[name])
    _check_relations(customer=quote.customer, contact=quote.contact, opportunity=None)
    quote.save(update_fields=fields)
    _recalculate(quote)
    return quote


def _next_position(quote: Quote) -> int:
    last = QuoteLine.objects.filter(quote=quote).order_by("-position").first()
    return last.position + 1 if last else 0


@transaction.atomic
def quote_line_add(
    *,
    quote: Quote,
    product: Product | None = None,
    description: str = "",
    quantity: Decimal = Decimal("1"),
    unit_price: Decimal | None = None,
    discount_percent: Decimal = Decimal("0"),
) -> QuoteLine:
    """Add a line to a draft: from a product (priced from the quote's price book, else its list
    price, and costed at its unit cost) or free text (which needs a description and a price)."""
    _lock(quote)
    _ensure_editable(quote)
    if product is None and (not description.strip() or unit_price is None):
        raise QuoteError(_("Choose a product, or describe the line and give its price."))
    if product is not None:
        price = unit_price if unit_price is not None else _product_price(quote, product)
        cost = product.unit_cost
        description = description.strip() or product.name
    else:
        price, cost = unit_price, None
    line = QuoteLine(
        organization_id=quote.organization_id,
        quote=quote,
        position=_next_position(quote),
        product=product,
        description=description.strip()[:300],
        quantity=quantity,
        unit_price=price,
        unit_cost=cost,
        discount_percent=discount_percent,
    )
    line.line_total = line_amounts(line).total
    line.save()
    _recalculate(quote)
    return line


def _product_price(quote: Quote, product: Product) -> Decimal:
    return unit_price(price_book=quote.price_book, product=product)


LINE_FIELDS = ("description", "quantity", "unit_price", "discount_percent")


@transaction.atomic
def quote_line_update(*, line: QuoteLine, data: dict[str, Any]) -> QuoteLine:
    """Change a draft's line (LINE_FIELDS) and recompute the totals."""
    quote = _lock(line.quote)
    _ensure_editable(quote)
    fields = [name for name in LINE_FIELDS if name in data]
    for name in fields:
        setattr(line, name, data[name])
    line.line_total = line_amounts(line).total
    line.save(update_fields=[*fields, "line_total"])
    _recalculate(quote)
    return line


@transaction.atomic
def quote_line_remove(*, line: QuoteLine) -> None:
    quote = _lock(line.quote)
    _ensure_editable(quote)
    line.delete()
    _recalculate(quote)


# --- Versions ---------------------------------------------------------------------------------


@transaction.atomic
def quote_new_version(*, quote: Quote, by: User | None) -> Quote:
    """A draft copy of `quote` (lines included) as its next version; the old one stays as it
    is, read-only. An accepted quote has its order already and gets no new version."""
    _lock(quote)
    if quote.status == QuoteStatus.ACCEPTED:
        raise QuoteError(_("This quote was accepted; it cannot get a new version."))
    if quote_is_superseded(quote):
        raise QuoteError(_("A newer version of this quote exists; work on that one."))
    today = timezone.localdate()
    copy = Quote(
        organization_id=quote.organization_id,
        number=quote.number,
        version=quote.version + 1,
        previous_version=quote,
        customer_id=quote.customer_id,
        contact_id=quote.contact_id,
        opportunity_id=quote.opportunity_id,
        price_book_id=quote.price_book_id,
        valid_until=today + timedelta(days=DEFAULT_VALIDITY_DAYS)
        if quote_is_past_validity(quote, today)
        else quote.valid_until,
        discount_percent=quote.discount_percent,
        tax_percent=quote.tax_percent,
        notes=quote.notes,
        created_by=by,
    )
    _save_numbered(copy, numbered=False)
    QuoteLine.objects.bulk_create(
        [
            QuoteLine(
                organization_id=line.organization_id,
                quote=copy,
                position=line.position,
                product_id=line.product_id,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                unit_cost=line.unit_cost,
                discount_percent=line.discount_percent,
                line_total=line.line_total,
            )
            for line in QuoteLine.objects.filter(quote=quote).order_by("position", "id")
        ]
    )
    _recalculate(copy)
    quote.is_superseded = True
    return copy


# --- Sending and deciding ---------------------------------------------------------------------


def quote_recipient(quote: Quote) -> str:
    """Where the quote goes by default: its contact's email, else the customer's."""
    if quote.contact is not None and quote.contact.email:
        return quote.contact.email
    return quote.customer.email


def _check_sendable(quote: Quote) -> None:
    _ensure_can_move(quote, QuoteStatus.SENT)
    if not QuoteLine.objects.filter(quote=quote).exists():
        raise QuoteError(_("Add at least one line before sending the quote."))
    if quote_is_past_validity(quote):
        raise QuoteError(_("The validity date has passed. Change it before sending."))


def _mark_sent(quote: Quote) -> None:
    quote.status = QuoteStatus.SENT
    quote.sent_at = timezone.now()
    quote.save(update_fields=["status", "sent_at"])


@transaction.atomic
def quote_mark_sent(*, quote: Quote, by: User | None) -> Quote:
    """Record that the quote reached the customer some other way (handed over, by post)."""
    _lock(quote)
    _check_sendable(quote)
    _mark_sent(quote)
    return quote


@transaction.atomic
def quote_send(
    *, quote: Quote, by: User | None, to: str, message: str = "", public_url: str = ""
) -> Quote:
    """Email the quote to `to` (the quote itself as the HTML body, with a link to its page at
    `public_url`) and mark it sent. If the mail cannot be sent, nothing changes."""
    _lock(quote)
    _check_sendable(quote)
    _mark_sent(quote)
    lines = list(QuoteLine.objects.filter(quote=quote).order_by("position", "id"))
    org = quote.organization
    context = {
        "org": org,
        "quote": quote,
        "lines": lines,
        "message": message,
        "public_url": public_url,
        "sender": by,
    }
    subject = _("Quote %(number)s from %(org)s") % {"number": quote.number, "org": org.name}
    email = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("sales/catalog/email/quote.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[by.email] if by is not None and by.email else [],
    )
    email.attach_alternative(
        render_to_string("sales/catalog/email/quote.html", context), "text/html"
    )
    try:
        email.send()
    except Exception as error:  # SMTP and network errors come in many types
        raise QuoteError(_("The email could not be sent. Please try again later.")) from error
    return quote


@transaction.atomic
def quote_reject(*, quote: Quote, by: User | None) -> Quote:
    _lock(quote)
    _ensure_can_move(quote, QuoteStatus.REJECTED)
    quote.status = QuoteStatus.REJECTED
    quote.decided_at = timezone.now()
    quote.save(update_fields=["status", "decided_at"])
    return quote


@transaction.atomic
def quote_accept(*, quote: Quote, by: User | None, mark_opportunity_won: bool = True) -> Order:
    """The customer said yes: the quote becomes accepted and an order is created from it, in one
    transaction (lines with their prices and costs, channel "sales rep"). With
    `mark_opportunity_won`, the quote's opportunity moves to its pipeline's won stage.

    Refuses a quote that was not sent, that has a newer version or whose validity date passed.
    """
    from sales.services.catalog.orders import order_create_from_quote

    _lock(quote)
    if quote.status == QuoteStatus.EXPIRED or (
        quote.status == QuoteStatus.SENT and quote_is_past_validity(quote)
    ):
        raise QuoteError(
            _("This quote expired on %(date)s. Make a new version to offer it again.")
            % {"date": date_format(quote.valid_until)}
        )
    _ensure_can_move(quote, QuoteStatus.ACCEPTED)
    now = timezone.now()
    quote.status = QuoteStatus.ACCEPTED
    quote.decided_at = now
    quote.save(update_fields=["status", "decided_at"])
    order = order_create_from_quote(quote=quote, by=by, ordered_at=now)
    if mark_opportunity_won and quote.opportunity_id:
        _mark_won(Opportunity.objects.select_related("stage").get(pk=quote.opportunity_id), by)
    return order


def _mark_won(opportunity: Opportunity, by: User | None) -> None:
    if opportunity.stage.is_won:
        return
    won = (
        Stage.objects.filter(pipeline_id=opportunity.pipeline_id, is_won=True)
        .order_by("position", "id")
        .first()
    )
    if won is None:
        return  # a pipeline without a won stage: nothing to move to
    try:
        opportunities = importlib.import_module("sales.services.opportunities")
    except ImportError:
        opportunities = None
    move = getattr(opportunities, "opportunity_move_stage", None)
    if move is not None:
        move(opportunity=opportunity, stage=won, by=by)
        return
    now = timezone.now()
    previous = opportunity.stage
    opportunity.stage = won
    opportunity.stage_entered_at = now
    opportunity.closed_at = now
    opportunity.probability = won.probability
    opportunity.save(
        update_fields=["stage", "stage_entered_at", "closed_at", "probability", "updated_at"]
    )
    StageChange.objects.create(
        organization_id=opportunity.organization_id,
        opportunity=opportunity,
        from_stage=previous,
        to_stage=won,
        changed_by=by,
        changed_at=now,
    )


def quotes_expire(*, today: date | None = None) -> int:
    """Mark expired the current organization's sent quotes whose validity date has passed.
    Returns how many. (The nightly task `sales.tasks.quotes_expire` runs it for every tenant.)"""
    today = today or timezone.localdate()
    return Quote.objects.filter(status=QuoteStatus.SENT, valid_until__lt=today).update(
        status=QuoteStatus.EXPIRED, decided_at=timezone.now()
    )


def quotes_expire_everywhere(*, today: date | None = None) -> int:
    """`quotes_expire` for every organization in turn (each in its own tenant context)."""
    from tenancy.context import tenant_context
    from tenancy.models import Organization

    expired = 0
    for org in Organization.objects.order_by("pk").iterator():
        with tenant_context(org):
            expired += quotes_expire(today=today)
    return expired
