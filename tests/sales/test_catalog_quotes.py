"""Quotes: exact totals, lines priced from the customer's price book, versions, the allowed
status moves, sending by email, accepting into an order (and a won opportunity), expiry."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from sales.models import Order, OrderChannel, OrderLine, Quote, QuoteLine, QuoteStatus, StageChange
from sales.services.catalog import quotes as services
from sales.services.catalog.quotes import QuoteError
from sales.services.catalog.totals import LineAmounts, quote_totals
from sales.tasks import quotes_expire as quotes_expire_task
from tenancy.context import tenant_context
from tests.factories import ContactFactory, CustomerFactory
from tests.sales.conftest_catalog import in_org_a  # noqa: F401  (fixture)
from tests.sales.factories_catalog import (
    PriceBookEntryFactory,
    PriceBookFactory,
    ProductFactory,
    sent_quote,
)
from tests.sales.factories_opportunities import OpportunityFactory, default_pipeline

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_org_a")]

D = Decimal


# --- Arithmetic -------------------------------------------------------------------------------


def test_a_line_rounds_its_gross_and_discount_half_up_to_the_cent():
    amounts = LineAmounts.of(quantity=D("3"), unit_price=D("19.99"), discount_percent=D("12.5"))

    # 59.97 gross; 12.5% of it is 7.49625, rounded half up to 7.50
    assert amounts == LineAmounts(gross=D("59.97"), discount=D("7.50"), total=D("52.47"))


def test_half_a_cent_rounds_up():
    amounts = LineAmounts.of(quantity=D("1"), unit_price=D("0.10"), discount_percent=D("5"))

    assert amounts.discount == D("0.01")  # 0.005
    assert amounts.total == D("0.09")


def test_fractional_quantities_are_exact():
    amounts = LineAmounts.of(quantity=D("2.125"), unit_price=D("8.00"), discount_percent=D("0"))

    assert amounts.total == D("17.00")


def test_quote_totals_apply_the_overall_discount_then_tax():
    totals = quote_totals(
        line_totals=[D("52.47"), D("100.00"), D("0.33")],
        discount_percent=D("10"),
        tax_percent=D("8.25"),
    )

    assert totals.subtotal == D("152.80")
    assert totals.discount_total == D("15.28")
    assert totals.tax_total == D("11.35")  # 8.25% of 137.52 = 11.3454: 11.34|54 rounds up
    assert totals.total == D("148.87")


def test_totals_of_no_lines_are_zero():
    totals = quote_totals(line_totals=[], discount_percent=D("10"), tax_percent=D("20"))

    assert (totals.subtotal, totals.discount_total, totals.tax_total, totals.total) == (
        D("0.00"),
        D("0.00"),
        D("0.00"),
        D("0.00"),
    )


# --- Building a quote --------------------------------------------------------------------------


@pytest.fixture
def customer(org_a):
    return CustomerFactory(organization=org_a, email="buyer@customer.example")


def test_a_new_quote_is_a_numbered_draft_priced_from_the_customers_book(org_a, customer):
    book = PriceBookFactory(organization=org_a, is_default=True)

    first = services.quote_create(customer=customer, by=None)
    second = services.quote_create(customer=customer, by=None)

    assert (first.number, first.version, first.status) == ("Q-000001", 1, QuoteStatus.DRAFT)
    assert second.number == "Q-000002"
    assert first.price_book == book
    assert first.valid_until == timezone.localdate() + timedelta(days=30)


def test_lines_take_the_price_book_price_and_the_product_cost(org_a, customer):
    book = PriceBookFactory(organization=org_a)
    entry = PriceBookEntryFactory(price_book=book, unit_price=D("75.00"))
    unlisted = ProductFactory(organization=org_a, list_price=D("40.00"), unit_cost=D("25.00"))
    quote = services.quote_create(customer=customer, by=None, price_book=book)

    from_book = services.quote_line_add(quote=quote, product=entry.product, quantity=D("2"))
    at_list = services.quote_line_add(quote=quote, product=unlisted)

    assert (from_book.unit_price, from_book.unit_cost) == (D("75.00"), entry.product.unit_cost)
    assert from_book.description == entry.product.name
    assert (at_list.unit_price, at_list.unit_cost) == (D("40.00"), D("25.00"))
    assert quote.subtotal == D("190.00")


def test_a_free_text_line_needs_a_description_and_a_price(customer):
    quote = services.quote_create(customer=customer, by=None)

    with pytest.raises(QuoteError):
        services.quote_line_add(quote=quote, description="Setup")

    line = services.quote_line_add(
        quote=quote, description="Setup", unit_price=D("150"), quantity=D("1")
    )
    assert (line.product, line.unit_cost, line.line_total) == (None, None, D("150.00"))


def test_the_quote_totals_follow_every_change(customer):
    quote = services.quote_create(
        customer=customer, by=None, discount_percent=D("10"), tax_percent=D("20")
    )
    line = services.quote_line_add(
        quote=quote,
        description="Widget",
        unit_price=D("33.33"),
        quantity=D("3"),
        discount_percent=D("5"),
    )
    services.quote_line_add(quote=quote, description="Extra", unit_price=D("0.01"))

    # 99.99 - 5.00 = 94.99; + 0.01 = 95.00; -10% = 85.50; +20% tax = 17.10 -> 102.60
    assert (quote.subtotal, quote.discount_total, quote.tax_total, quote.total) == (
        D("95.00"),
        D("9.50"),
        D("17.10"),
        D("102.60"),
    )

    services.quote_line_update(line=line, data={"quantity": D("1"), "discount_percent": D("0")})
    quote.refresh_from_db()
    assert quote.subtotal == D("33.34")

    services.quote_update(quote=quote, data={"discount_percent": D("0"), "tax_percent": D("0")})
    assert quote.total == D("33.34")

    services.quote_line_remove(line=line)
    quote.refresh_from_db()
    assert quote.total == D("0.01")
    assert QuoteLine.objects.filter(quote=quote).count() == 1


def test_a_contact_of_another_customer_is_refused(org_a, customer):
    stranger = ContactFactory(customer=CustomerFactory(organization=org_a))

    with pytest.raises(QuoteError):
        services.quote_create(customer=customer, by=None, contact=stranger)


# --- Versions ----------------------------------------------------------------------------------


def test_a_new_version_copies_the_quote_and_freezes_the_old_one(org_a, alice):
    quote = sent_quote(org_a, discount_percent=D("5"), tax_percent=D("10"))

    copy = services.quote_new_version(quote=quote, by=alice)

    assert (copy.number, copy.version, copy.previous_version) == (quote.number, 2, quote)
    assert copy.status == QuoteStatus.DRAFT
    assert copy.total == quote.total
    old_lines = list(quote.lines.values_list("description", "quantity", "unit_price"))
    assert list(copy.lines.values_list("description", "quantity", "unit_price")) == old_lines
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT  # unchanged, but read-only
    assert services.quote_is_superseded(quote)
    with pytest.raises(QuoteError):
        services.quote_line_add(quote=quote, description="More", unit_price=D("1"))
    with pytest.raises(QuoteError):
        services.quote_accept(quote=quote, by=alice)
    with pytest.raises(QuoteError):
        services.quote_new_version(quote=quote, by=alice)


def test_a_draft_version_is_editable_until_a_newer_one_exists(customer):
    quote = services.quote_create(customer=customer, by=None)
    services.quote_line_add(quote=quote, description="A", unit_price=D("1"))
    assert services.quote_is_editable(quote)

    services.quote_new_version(quote=quote, by=None)

    fresh = Quote.objects.get(pk=quote.pk)
    assert not services.quote_is_editable(fresh)
    with pytest.raises(QuoteError):
        services.quote_update(quote=fresh, data={"notes": "changed"})


def test_an_accepted_quote_gets_no_new_version(org_a):
    quote = sent_quote(org_a)
    services.quote_accept(quote=quote, by=None)

    with pytest.raises(QuoteError):
        services.quote_new_version(quote=quote, by=None)


def test_an_expired_quote_gets_a_new_version_valid_for_thirty_days(org_a):
    quote = sent_quote(org_a)
    Quote.objects.filter(pk=quote.pk).update(
        valid_until=timezone.localdate() - timedelta(days=3), status=QuoteStatus.EXPIRED
    )
    quote.refresh_from_db()

    copy = services.quote_new_version(quote=quote, by=None)

    assert copy.valid_until == timezone.localdate() + timedelta(days=30)


# --- Status moves ------------------------------------------------------------------------------


def test_a_draft_can_be_marked_sent_but_not_accepted_or_rejected(customer):
    quote = services.quote_create(customer=customer, by=None)
    services.quote_line_add(quote=quote, description="A", unit_price=D("10"))

    for move in (services.quote_accept, services.quote_reject):
        with pytest.raises(QuoteError):
            move(quote=quote, by=None)

    services.quote_mark_sent(quote=quote, by=None)
    assert quote.status == QuoteStatus.SENT
    assert quote.sent_at is not None


def test_a_quote_without_lines_cannot_be_sent(customer):
    quote = services.quote_create(customer=customer, by=None)

    with pytest.raises(QuoteError):
        services.quote_mark_sent(quote=quote, by=None)


def test_a_sent_quote_can_be_rejected_once(org_a):
    quote = sent_quote(org_a)

    services.quote_reject(quote=quote, by=None)

    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.REJECTED
    for move in (services.quote_accept, services.quote_reject, services.quote_mark_sent):
        with pytest.raises(QuoteError):
            move(quote=quote, by=None)


def test_the_transition_table_ends_in_accepted_rejected_and_expired():
    finals = {s for s, moves in services.TRANSITIONS.items() if not moves}
    assert finals == {QuoteStatus.ACCEPTED, QuoteStatus.REJECTED, QuoteStatus.EXPIRED}


# --- Sending -----------------------------------------------------------------------------------


def test_sending_emails_the_quote_to_its_contact_and_marks_it_sent(org_a, alice):
    customer = CustomerFactory(organization=org_a, email="office@customer.example")
    contact = ContactFactory(customer=customer, email="Buyer@Customer.example")
    quote = services.quote_create(customer=customer, by=alice, contact=contact)
    services.quote_line_add(quote=quote, description="Consulting day", unit_price=D("1200"))

    to = services.quote_recipient(quote)
    services.quote_send(
        quote=quote, by=alice, to=to, message="As discussed.", public_url="https://x.example/q/t/"
    )

    assert to == "Buyer@Customer.example"
    [email] = mail.outbox
    assert email.to == ["Buyer@Customer.example"]
    assert email.reply_to == ["alice@a.example"]
    assert quote.number in email.subject and org_a.name in email.subject
    html = email.alternatives[0].content
    assert "Consulting day" in html and "1,200.00 USD" in html
    assert "https://x.example/q/t/" in html and "As discussed." in email.body
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.SENT


def test_without_a_contact_email_the_quote_goes_to_the_customer(org_a):
    customer = CustomerFactory(organization=org_a, email="office@customer.example")
    quote = services.quote_create(
        customer=customer, by=None, contact=ContactFactory(customer=customer)
    )

    assert services.quote_recipient(quote) == "office@customer.example"


def test_a_failed_send_changes_nothing(org_a, customer, settings):
    settings.MAILERS = {"default": {"BACKEND": "tests.sales.test_catalog_quotes.BrokenBackend"}}
    quote = services.quote_create(customer=customer, by=None)
    services.quote_line_add(quote=quote, description="A", unit_price=D("10"))

    with pytest.raises(QuoteError):
        services.quote_send(quote=quote, by=None, to="x@example.com")

    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.DRAFT


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP is down")


# --- Accepting ---------------------------------------------------------------------------------


def test_accepting_creates_the_order_with_the_quotes_lines_totals_and_costs(org_a, alice):
    customer = CustomerFactory(organization=org_a)
    widget = ProductFactory(organization=org_a, list_price=D("19.99"), unit_cost=D("11.10"))
    quote = services.quote_create(
        customer=customer, by=alice, discount_percent=D("10"), tax_percent=D("20")
    )
    services.quote_line_add(
        quote=quote, product=widget, quantity=D("3"), discount_percent=D("12.5")
    )
    services.quote_line_add(quote=quote, description="Set-up", unit_price=D("100"))
    services.quote_mark_sent(quote=quote, by=alice)

    order = services.quote_accept(quote=quote, by=alice)

    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.ACCEPTED
    assert (order.customer, order.quote, order.channel) == (customer, quote, OrderChannel.SALES)
    assert order.status == "completed"
    # 152.47 of lines, 10% off (15.25): 137.22 before tax; the quote adds 27.44 of tax
    assert (order.subtotal, order.discount, order.total) == (D("152.47"), D("15.25"), D("137.22"))
    assert quote.total == D("164.66")
    assert order.cost_total == D("33.30")  # the free text line has no cost
    lines = list(OrderLine.objects.filter(order=order).order_by("id"))
    assert [(line.product, line.quantity, line.unit_price, line.unit_cost) for line in lines] == [
        (widget, D("3.000"), D("19.99"), D("11.10")),
        (None, D("1.000"), D("100.00"), None),
    ]
    assert [(line.discount, line.line_total) for line in lines] == [
        (D("7.50"), D("52.47")),
        (D("0.00"), D("100.00")),
    ]


def test_accepting_marks_the_opportunity_won(org_a, alice):
    _pipeline, stages = default_pipeline(org_a)
    opportunity = OpportunityFactory(stage=stages[3])
    quote = sent_quote(org_a, customer=opportunity.customer, opportunity=opportunity)

    order = services.quote_accept(quote=quote, by=alice)

    opportunity.refresh_from_db()
    assert opportunity.stage.is_won and opportunity.closed_at is not None
    assert order.opportunity == opportunity
    change = StageChange.objects.filter(opportunity=opportunity).latest("changed_at")
    assert (change.from_stage, change.to_stage, change.changed_by) == (
        stages[3],
        opportunity.stage,
        alice,
    )


def test_accepting_can_leave_the_opportunity_alone(org_a):
    _pipeline, stages = default_pipeline(org_a)
    opportunity = OpportunityFactory(stage=stages[3])
    quote = sent_quote(org_a, customer=opportunity.customer, opportunity=opportunity)

    services.quote_accept(quote=quote, by=None, mark_opportunity_won=False)

    opportunity.refresh_from_db()
    assert opportunity.stage == stages[3]


def test_accepting_twice_makes_one_order(org_a):
    quote = sent_quote(org_a)
    services.quote_accept(quote=quote, by=None)

    with pytest.raises(QuoteError):
        services.quote_accept(quote=Quote.objects.get(pk=quote.pk), by=None)

    assert Order.objects.filter(quote=quote).count() == 1


def test_a_quote_past_its_validity_date_cannot_be_accepted(org_a):
    quote = sent_quote(org_a)
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate() - timedelta(days=1))
    quote.refresh_from_db()

    with pytest.raises(QuoteError, match="expired"):
        services.quote_accept(quote=quote, by=None)

    assert not Order.objects.exists()


def test_an_expired_quote_cannot_be_accepted(org_a):
    quote = sent_quote(org_a)
    Quote.objects.filter(pk=quote.pk).update(status=QuoteStatus.EXPIRED)
    quote.refresh_from_db()

    with pytest.raises(QuoteError):
        services.quote_accept(quote=quote, by=None)


# --- Expiry ------------------------------------------------------------------------------------


def test_the_nightly_task_expires_sent_quotes_past_their_date_in_every_organization(org_a, org_b):
    yesterday = timezone.localdate() - timedelta(days=1)
    due_a, due_b, current = sent_quote(org_a), sent_quote(org_b), sent_quote(org_a)
    with tenant_context(org_a):
        draft = services.quote_create(customer=CustomerFactory(organization=org_a), by=None)
        Quote.objects.filter(pk__in=[due_a.pk, draft.pk]).update(valid_until=yesterday)
    with tenant_context(org_b):
        Quote.objects.filter(pk=due_b.pk).update(valid_until=yesterday)

    assert quotes_expire_task() == 2

    with tenant_context(org_a):
        statuses = dict(Quote.objects.values_list("pk", "status"))
    with tenant_context(org_b):
        statuses.update(Quote.objects.values_list("pk", "status"))
    assert statuses[due_a.pk] == statuses[due_b.pk] == QuoteStatus.EXPIRED
    assert statuses[current.pk] == QuoteStatus.SENT
    assert statuses[draft.pk] == QuoteStatus.DRAFT
