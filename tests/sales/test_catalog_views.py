"""The catalog pages: products, price books, a customer's price book, the quote builder and its
htmx fragments, sending and deciding, the printable and public quote pages, orders and a
customer's order history, the customer timeline, merges, and the query cost of every list."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail, signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.merge import customers_merge, merge_undo
from customers.models import Customer
from sales.models import (
    CustomerPriceBook,
    Order,
    OrderStatus,
    PriceBook,
    PriceBookEntry,
    Product,
    Quote,
    QuoteLine,
    QuoteStatus,
)
from sales.services.catalog import quotes as quote_services
from sales.views.catalog.public import SALT, quote_public_token
from tenancy.context import tenant_context
from tenancy.permissions import Role
from tests.factories import ContactFactory, CustomerFactory, TagFactory
from tests.sales.conftest_catalog import HTMX
from tests.sales.factories_catalog import (
    CustomerPriceBookFactory,
    OrderFactory,
    OrderLineFactory,
    PriceBookEntryFactory,
    PriceBookFactory,
    ProductFactory,
    QuoteFactory,
    QuoteLineFactory,
    sent_quote,
)
from tests.sales.factories_opportunities import OpportunityFactory, default_pipeline

pytestmark = pytest.mark.django_db

D = Decimal


def url(name: str, org, **kwargs) -> str:
    return reverse(f"sales:{name}", kwargs={"org_slug": org.slug, **kwargs})


def queries(client: Client, path: str, **kwargs) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, **kwargs)
    assert response.status_code == 200, path
    return len(captured), response


@pytest.fixture
def manager(client_for, alice):
    return client_for(alice)


@pytest.fixture
def seller(client_for, bob):
    return client_for(bob)


# --- Products ----------------------------------------------------------------------------------


def test_a_manager_adds_a_product(org_a, manager):
    response = manager.post(
        url("product-create", org_a),
        {
            "sku": "W-1",
            "name": "Widget",
            "category": "Parts",
            "list_price": "12.50",
            "unit_cost": "7",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    with tenant_context(org_a):
        product = Product.objects.get()
    assert (product.sku, product.list_price, product.unit_cost) == ("W-1", D("12.50"), D("7.00"))


def test_a_sku_is_unique_in_the_organization_only(org_a, org_b, manager):
    ProductFactory(organization=org_a, sku="W-1")
    ProductFactory(organization=org_b, sku="W-2")

    taken = manager.post(
        url("product-create", org_a), {"sku": "w-1", "name": "X", "list_price": "1"}
    )
    free = manager.post(
        url("product-create", org_a), {"sku": "W-2", "name": "X", "list_price": "1"}
    )

    assert taken.status_code == 400 and "Another product has this SKU" in taken.content.decode()
    assert free.status_code == 302


def test_prices_cannot_be_negative(org_a, manager):
    response = manager.post(
        url("product-create", org_a), {"sku": "N", "name": "N", "list_price": "-1"}
    )

    assert response.status_code == 400


def test_a_product_on_a_quote_is_deactivated_not_deleted(org_a, manager):
    used = QuoteLineFactory(
        quote=QuoteFactory(customer=CustomerFactory(organization=org_a)),
        product=ProductFactory(organization=org_a),
    ).product
    unused = ProductFactory(organization=org_a)

    manager.post(url("product-delete", org_a, pk=used.pk))
    manager.post(url("product-delete", org_a, pk=unused.pk))

    with tenant_context(org_a):
        assert list(Product.objects.values_list("pk", flat=True)) == [used.pk]


def test_sales_reps_see_products_but_cannot_edit_them(org_a, seller):
    ProductFactory(organization=org_a, name="Visible widget")

    response = seller.get(url("product-list", org_a))

    html = response.content.decode()
    assert "Visible widget" in html
    assert url("product-create", org_a) not in html
    assert seller.get(url("product-create", org_a)).status_code == 403


def test_the_product_list_searches_and_filters(org_a, seller):
    ProductFactory(organization=org_a, name="Blue pen", sku="PEN-B", category="Office")
    ProductFactory(organization=org_a, name="Red pen", sku="PEN-R", is_active=False)
    ProductFactory(organization=org_a, name="Chair", sku="CH-1", category="Furniture")

    def names(**params):
        response = seller.get(url("product-list", org_a), params, headers=HTMX)
        return sorted(p.name for p in response.context["page"].items)

    assert names(q="pen") == ["Blue pen"]
    assert names(q="pen", status="all") == ["Blue pen", "Red pen"]
    assert names(q="ch-1") == ["Chair"]
    assert names(category="Office") == ["Blue pen"]
    assert names(status="nonsense") == []


# --- Price books -------------------------------------------------------------------------------


def test_a_manager_creates_a_price_book_for_a_tag(org_a, manager):
    vip = TagFactory(organization=org_a, name="VIP")

    response = manager.post(
        url("pricebook-create", org_a),
        {"name": "VIP prices", "tag": vip.pk, "rfm_segment": "", "is_active": "on"},
    )

    assert response.status_code == 302
    with tenant_context(org_a):
        book = PriceBook.objects.get()
    assert (book.name, book.tag_id, book.is_default) == ("VIP prices", vip.pk, False)


def test_the_price_grid_saves_and_clears_prices(org_a, manager):
    book = PriceBookFactory(organization=org_a)
    kept = PriceBookEntryFactory(price_book=book, unit_price=D("9.00"))
    new = ProductFactory(organization=org_a)
    page = url("pricebook-detail", org_a, pk=book.pk)

    response = manager.post(page, {f"price_{kept.product_id}": "", f"price_{new.pk}": "4.25"})

    assert response.status_code == 302
    with tenant_context(org_a):
        assert dict(PriceBookEntry.objects.values_list("product_id", "unit_price")) == {
            new.pk: D("4.25")
        }


def test_a_bad_price_saves_nothing(org_a, manager):
    book = PriceBookFactory(organization=org_a)
    product = ProductFactory(organization=org_a)

    response = manager.post(
        url("pricebook-detail", org_a, pk=book.pk), {f"price_{product.pk}": "abc"}
    )

    assert response.status_code == 400
    with tenant_context(org_a):
        assert not PriceBookEntry.objects.exists()


def test_the_grid_ignores_another_organizations_products(org_a, org_b, manager):
    book = PriceBookFactory(organization=org_a)
    theirs = ProductFactory(organization=org_b)

    manager.post(url("pricebook-detail", org_a, pk=book.pk), {f"price_{theirs.pk}": "1.00"})

    with tenant_context(org_a):
        assert not PriceBookEntry.objects.exists()


def test_a_customers_page_says_which_price_book_applies_and_assigns_one(org_a, manager):
    customer = CustomerFactory(organization=org_a)
    PriceBookFactory(organization=org_a, name="Standard", is_default=True)
    wholesale = PriceBookFactory(organization=org_a, name="Wholesale")
    page = url("customer-pricebook", org_a, pk=customer.pk)

    before = manager.get(page).content.decode()
    manager.post(page, {"price_book": wholesale.pk})
    after = manager.get(page).content.decode()

    assert "Standard" in before and "the default price book" in before
    assert "assigned to this customer" in after
    with tenant_context(org_a):
        assert CustomerPriceBook.objects.get().price_book == wholesale


def test_the_customer_page_links_to_quotes_orders_and_the_price_book(org_a, client_for, member_of):
    customer = CustomerFactory(organization=org_a)
    page = reverse("customers:customer-detail", args=[org_a.slug, customer.pk])

    for role, sees_quote, sees_book in [
        (Role.MANAGER, True, True),
        (Role.SALES, True, False),
        (Role.SUPPORT, False, False),
    ]:
        html = client_for(member_of(org_a, role)).get(page).content.decode()
        assert ('data-testid="customer-new-quote"' in html) is sees_quote
        assert ('data-testid="customer-price-book"' in html) is sees_book
        assert 'data-testid="customer-orders"' in html


# --- Creating quotes ---------------------------------------------------------------------------


def test_without_a_customer_the_new_quote_page_asks_for_one(org_a, seller):
    CustomerFactory(organization=org_a, name="Zebra Holdings")
    CustomerFactory(organization=org_a, name="Other Ltd")

    response = seller.get(url("quote-create", org_a), {"q": "zebra"})

    html = response.content.decode()
    assert "Zebra Holdings" in html and "Other Ltd" not in html
    assert "?customer=" in html


def test_a_quote_is_created_for_a_customer_with_the_resolved_price_book(org_a, seller):
    customer = CustomerFactory(organization=org_a)
    book = PriceBookFactory(organization=org_a, is_default=True)
    page = url("quote-create", org_a) + f"?customer={customer.pk}"

    form = seller.get(page)
    response = seller.post(
        page,
        {
            "price_book": book.pk,
            "valid_until": (timezone.localdate() + timedelta(days=10)).isoformat(),
            "discount_percent": "0",
            "tax_percent": "7.5",
        },
    )

    assert form.context["form"].initial["price_book"] == book
    with tenant_context(org_a):
        quote = Quote.objects.get()
    assert response.status_code == 302 and response["Location"] == url(
        "quote-detail", org_a, pk=quote.pk
    )
    assert (quote.customer_id, quote.price_book_id, quote.tax_percent) == (
        customer.pk,
        book.pk,
        D("7.50"),
    )


def test_a_quote_from_an_opportunity_belongs_to_its_customer(org_a, seller):
    _pipeline, stages = default_pipeline(org_a)
    opportunity = OpportunityFactory(stage=stages[2])
    page = url("quote-create", org_a) + f"?opportunity={opportunity.pk}"

    seller.post(
        page,
        {
            "valid_until": timezone.localdate().isoformat(),
            "discount_percent": "0",
            "tax_percent": "0",
        },
    )

    with tenant_context(org_a):
        quote = Quote.objects.get()
    assert (quote.customer_id, quote.opportunity_id) == (opportunity.customer_id, opportunity.pk)


def test_a_past_validity_date_is_refused(org_a, seller):
    customer = CustomerFactory(organization=org_a)

    response = seller.post(
        url("quote-create", org_a) + f"?customer={customer.pk}",
        {"valid_until": "2001-01-01", "discount_percent": "0", "tax_percent": "0"},
    )

    assert response.status_code == 400


@pytest.mark.parametrize(
    "param", ["customer=abc", "customer=99999999", "opportunity=-1", "customer=1e9"]
)
def test_odd_customer_parameters_never_fail(org_a, seller, param):
    response = seller.get(url("quote-create", org_a) + "?" + param)

    assert response.status_code in (200, 404)


# --- The builder -------------------------------------------------------------------------------


@pytest.fixture
def draft(org_a, bob):
    customer = CustomerFactory(organization=org_a, email="buyer@example.com")
    with tenant_context(org_a):
        return quote_services.quote_create(customer=customer, by=bob, tax_percent=D("10"))


def test_adding_a_product_line_with_htmx_returns_the_builder_with_new_totals(org_a, seller, draft):
    product = ProductFactory(organization=org_a, name="Gadget", list_price=D("20.00"))

    response = seller.post(
        url("quote-line-add", org_a, pk=draft.pk),
        {"product": product.pk, "quantity": "3", "discount_percent": "0"},
        headers=HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="quote-builder"' in html and "<html" not in html
    assert "Gadget" in html and "66.00 USD" in html  # 60 + 10% tax


def test_a_line_is_updated_and_removed_with_htmx(org_a, seller, draft):
    with tenant_context(org_a):
        line = quote_services.quote_line_add(quote=draft, description="Work", unit_price=D("10"))

    updated = seller.post(
        url("quote-line-update", org_a, pk=line.pk),
        {"description": "Work", "quantity": "2", "unit_price": "10", "discount_percent": "50"},
        headers=HTMX,
    )
    assert "11.00 USD" in updated.content.decode()  # 20 - 50% = 10, + 10% tax

    removed = seller.post(url("quote-line-delete", org_a, pk=line.pk), headers=HTMX)

    assert removed.status_code == 200 and "No lines yet" in removed.content.decode()
    with tenant_context(org_a):
        assert Quote.objects.get(pk=draft.pk).total == D("0.00")


def test_a_wrong_line_answers_422_with_the_errors(org_a, seller, draft):
    response = seller.post(
        url("quote-line-add", org_a, pk=draft.pk),
        {"quantity": "0", "description": ""},
        headers=HTMX,
    )

    assert response.status_code == 422
    assert "is-invalid" in response.content.decode()


def test_without_javascript_a_line_is_added_and_the_page_reloads(org_a, seller, draft):
    response = seller.post(
        url("quote-line-add", org_a, pk=draft.pk),
        {"description": "Delivery", "unit_price": "35", "quantity": "1", "discount_percent": "0"},
    )

    assert response.status_code == 302
    with tenant_context(org_a):
        assert QuoteLine.objects.get(quote=draft).description == "Delivery"


def test_the_terms_form_recomputes_the_totals(org_a, seller, draft):
    with tenant_context(org_a):
        quote_services.quote_line_add(quote=draft, description="Work", unit_price=D("100"))

    response = seller.post(
        url("quote-edit", org_a, pk=draft.pk),
        {
            "valid_until": draft.valid_until.isoformat(),
            "discount_percent": "20",
            "tax_percent": "0",
        },
        headers=HTMX,
    )

    assert "80.00 USD" in response.content.decode()


def test_a_sent_quote_shows_no_line_editing(org_a, seller):
    quote = sent_quote(org_a)

    html = seller.get(url("quote-detail", org_a, pk=quote.pk)).content.decode()
    refused = seller.post(
        url("quote-line-add", org_a, pk=quote.pk),
        {"description": "Sneaky", "unit_price": "1", "quantity": "1"},
        headers=HTMX,
    )

    assert 'data-testid="add-line-form"' not in html
    assert 'data-testid="quote-accept"' in html
    assert refused.status_code == 422 and "Only a draft can be changed" in refused.content.decode()


# --- Sending, deciding, versions ---------------------------------------------------------------


def test_sending_from_the_page_emails_the_customer(org_a, seller, draft):
    with tenant_context(org_a):
        quote_services.quote_line_add(quote=draft, description="Work", unit_price=D("100"))
    page = url("quote-send", org_a, pk=draft.pk)

    assert seller.get(page).context["form"].initial["to"] == "buyer@example.com"
    response = seller.post(page, {"to": "buyer@example.com", "message": "Hello"})

    assert response.status_code == 302
    [email] = mail.outbox
    assert email.to == ["buyer@example.com"]
    token_link = reverse("quote-public", args=[quote_public_token(draft)])
    assert token_link in email.body
    with tenant_context(org_a):
        assert Quote.objects.get(pk=draft.pk).status == QuoteStatus.SENT


def test_accepting_from_the_page_opens_the_new_order(org_a, seller):
    _pipeline, stages = default_pipeline(org_a)
    opportunity = OpportunityFactory(stage=stages[2])
    quote = sent_quote(org_a, customer=opportunity.customer, opportunity=opportunity)

    response = seller.post(url("quote-accept", org_a, pk=quote.pk), {"mark_opportunity_won": "on"})

    with tenant_context(org_a):
        order = Order.objects.get()
        opportunity.refresh_from_db()
        assert opportunity.stage.is_won
    assert response["Location"] == url("order-detail", org_a, pk=order.pk)


def test_an_expired_quote_cannot_be_accepted_from_the_page(org_a, seller):
    quote = sent_quote(org_a)
    with tenant_context(org_a):
        Quote.objects.filter(pk=quote.pk).update(
            valid_until=timezone.localdate() - timedelta(days=1)
        )

    response = seller.post(url("quote-accept", org_a, pk=quote.pk), follow=True)

    assert "expired" in response.content.decode()
    with tenant_context(org_a):
        assert not Order.objects.exists()


def test_rejecting_and_new_versions_from_the_page(org_a, seller):
    quote = sent_quote(org_a)

    seller.post(url("quote-reject", org_a, pk=quote.pk))
    response = seller.post(url("quote-new-version", org_a, pk=quote.pk))

    with tenant_context(org_a):
        copy = Quote.objects.get(version=2)
        assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.REJECTED
    assert response["Location"] == url("quote-detail", org_a, pk=copy.pk)
    old_page = seller.get(url("quote-detail", org_a, pk=quote.pk)).content.decode()
    assert "A newer version of this quote exists" in old_page
    assert 'data-testid="quote-new-version"' not in old_page


# --- Printable and public pages ----------------------------------------------------------------


def test_the_print_page_shows_the_organization_customer_lines_and_totals(org_a, seller):
    customer = CustomerFactory(organization=org_a, name="Printable Customer")
    with tenant_context(org_a):
        quote = quote_services.quote_create(customer=customer, by=None, tax_percent=D("20"))
        quote_services.quote_line_add(quote=quote, description="Tuning", unit_price=D("1000"))

    response = seller.get(url("quote-print", org_a, pk=quote.pk))

    html = response.content.decode()
    assert response.status_code == 200
    assert org_a.name in html and "Printable Customer" in html and "Tuning" in html
    assert "1,200.00 USD" in html
    assert "css/catalog.css" in html and "js/catalog.js" in html and "<script>" not in html


def test_the_public_page_shows_a_sent_quote_without_signing_in(org_a, client):
    quote = sent_quote(org_a)

    response = client.get(reverse("quote-public", args=[quote_public_token(quote)]))

    assert response.status_code == 200
    assert quote.number in response.content.decode()
    assert "Back to the quote" not in response.content.decode()


def test_the_public_page_refuses_drafts_and_forged_links(org_a, org_b, client, draft):
    forged = quote_public_token(draft)[:-2] + "xx"
    other = sent_quote(org_b)
    # Even correctly signed, another organization's quote is not found under this one.
    wrong_org = signing.dumps({"o": org_a.pk, "q": other.pk}, salt=SALT)

    for token in (quote_public_token(draft), forged, wrong_org, "nonsense"):
        assert client.get(reverse("quote-public", args=[token])).status_code == 404


# --- Orders ------------------------------------------------------------------------------------


def test_an_order_page_shows_its_lines_and_margin(org_a, client_for, carol):
    order = OrderFactory(
        customer=CustomerFactory(organization=org_a), total=D("200.00"), cost_total=D("150.00")
    )
    OrderLineFactory(order=order, description="Big box")

    response = client_for(carol).get(url("order-detail", org_a, pk=order.pk))

    html = response.content.decode()
    assert "Big box" in html
    assert response.context["margin"].amount == D("50.00")
    assert response.context["margin"].percent == D("25.0")
    assert 'data-testid="order-change-status"' not in html  # support reads, sales acts


def test_a_sales_rep_enters_an_order_by_hand(org_a, seller):
    customer = CustomerFactory(organization=org_a)

    response = seller.post(
        url("order-create", org_a) + f"?customer={customer.pk}",
        {
            "ordered_on": "2024-05-01",
            "channel": "phone",
            "subtotal": "100",
            "discount": "10",
            "cost_total": "55",
            "is_gift": "on",
        },
    )

    with tenant_context(org_a):
        order = Order.objects.get()
    assert response["Location"] == url("order-detail", org_a, pk=order.pk)
    assert (order.number, order.total, order.cost_total, order.is_gift) == (
        "SO-000001",
        D("90.00"),
        D("55.00"),
        True,
    )
    assert order.ordered_at.date().isoformat() == "2024-05-01"


def test_a_hand_entered_order_number_must_be_new(org_a, seller):
    customer = CustomerFactory(organization=org_a)
    OrderFactory(customer=customer, number="INV-1")

    response = seller.post(
        url("order-create", org_a) + f"?customer={customer.pk}",
        {"number": "INV-1", "ordered_on": "2024-05-01", "channel": "phone", "subtotal": "1"},
    )

    assert response.status_code == 400


def test_an_order_is_cancelled_or_returned_once(org_a, seller):
    order = OrderFactory(customer=CustomerFactory(organization=org_a))

    seller.post(url("order-status", org_a, pk=order.pk), {"status": "returned"})
    again = seller.post(
        url("order-status", org_a, pk=order.pk), {"status": "cancelled"}, follow=True
    )

    with tenant_context(org_a):
        assert Order.objects.get(pk=order.pk).status == OrderStatus.RETURNED
    assert "cannot become" in again.content.decode()


def test_the_order_list_filters_by_status_channel_dates_and_customer(org_a, client_for, carol):
    ann, bo = CustomerFactory(organization=org_a), CustomerFactory(organization=org_a)
    now = timezone.now()
    OrderFactory(customer=ann, number="N-1", channel="web", ordered_at=now - timedelta(days=40))
    OrderFactory(customer=ann, number="N-2", channel="store", status="cancelled", ordered_at=now)
    OrderFactory(customer=bo, number="N-3", channel="web", ordered_at=now - timedelta(days=2))
    client = client_for(carol)

    def numbers(**params):
        response = client.get(url("order-list", org_a), params, headers=HTMX)
        return [o.number for o in response.context["page"].items]

    assert numbers() == ["N-2", "N-3", "N-1"]
    assert numbers(status="cancelled") == ["N-2"]
    assert numbers(channel="web") == ["N-3", "N-1"]
    assert numbers(customer=ann.pk) == ["N-2", "N-1"]
    assert numbers(date_from=(now - timedelta(days=10)).date().isoformat()) == ["N-2", "N-3"]
    assert numbers(date_to=(now - timedelta(days=10)).date().isoformat()) == ["N-1"]
    assert numbers(q="n-3") == ["N-3"]
    assert numbers(date_from="not-a-date") == []


def _orders(customer, count: int, *, start: int = 0) -> None:
    now = timezone.now()
    org = customer.organization
    with tenant_context(org):
        Order.objects.bulk_create(
            [
                Order(
                    organization=org,
                    customer=customer,
                    number=f"K-{customer.pk}-{n}",
                    ordered_at=now - timedelta(hours=n),
                    total=D("10"),
                    cost_total=D("4"),
                )
                for n in range(start, start + count)
            ]
        )


def test_a_customers_orders_page_through_the_keyset(org_a, client_for, carol):
    customer = CustomerFactory(organization=org_a)
    _orders(customer, 120)
    _orders(CustomerFactory(organization=org_a), 5)
    client = client_for(carol)
    page = url("customer-orders", org_a, pk=customer.pk)

    first = client.get(page)
    second = client.get(first.context["page"].next_url, headers=HTMX)
    third = client.get(second.context["page"].next_url, headers=HTMX)

    seen = [o.number for r in (first, second, third) for o in r.context["page"].items]
    assert seen == [f"K-{customer.pk}-{n}" for n in range(120)]
    assert not third.context["page"].has_next
    assert first.context["page"].count_label == "120 results"


def test_a_customers_order_list_costs_the_same_at_30_and_300_orders(org_a, client_for, carol):
    customer = CustomerFactory(organization=org_a)
    client = client_for(carol)
    page = url("customer-orders", org_a, pk=customer.pk)
    client.get(page)  # the first visit records the organization in the session

    _orders(customer, 30)
    few, _ = queries(client, page)
    _orders(customer, 270, start=30)
    many, response = queries(client, page)
    deep, _ = queries(client, response.context["page"].next_url, headers=HTMX)

    assert few == many <= 16
    assert deep <= many


def test_a_customer_of_another_organization_has_no_orders_page(org_a, org_b, client_for, carol):
    theirs = CustomerFactory(organization=org_b)

    response = client_for(carol).get(url("customer-orders", org_a, pk=theirs.pk))

    assert response.status_code == 404


# --- Query counts of the other pages -----------------------------------------------------------


def _fill(org, n: int) -> None:
    customers = [CustomerFactory(organization=org) for _ in range(n)]
    for number, customer in enumerate(customers):
        product = ProductFactory(organization=org)
        quote = QuoteFactory(customer=customer, created_by=None)
        QuoteLineFactory(quote=quote, product=product)
        OrderLineFactory(
            order=OrderFactory(customer=customer, number=f"Q{n}-{number}"), product=product
        )


@pytest.mark.parametrize(
    ("name", "htmx"),
    [
        ("product-list", False),
        ("quote-list", False),
        ("quote-list", True),
        ("order-list", False),
        ("order-list", True),
        ("pricebook-list", False),
    ],
)
def test_the_lists_cost_the_same_queries_with_more_rows(org_a, manager, name, htmx):
    PriceBookFactory(organization=org_a)
    path = url(name, org_a)
    manager.get(path)
    headers = HTMX if htmx else {}

    _fill(org_a, 3)
    few, _ = queries(manager, path, headers=headers)
    _fill(org_a, 25)
    many, _ = queries(manager, path, headers=headers)

    assert few == many <= 18


def test_the_quote_builder_costs_the_same_with_more_lines(org_a, seller, draft):
    path = url("quote-detail", org_a, pk=draft.pk)
    seller.get(path)
    with tenant_context(org_a):
        for _ in range(3):
            quote_services.quote_line_add(quote=draft, product=ProductFactory(organization=org_a))
    few, _ = queries(seller, path)
    with tenant_context(org_a):
        for _ in range(25):
            quote_services.quote_line_add(quote=draft, product=ProductFactory(organization=org_a))
    many, _ = queries(seller, path)

    assert few == many <= 20


def test_the_price_grid_costs_the_same_with_more_products(org_a, manager):
    book = PriceBookFactory(organization=org_a)
    path = url("pricebook-detail", org_a, pk=book.pk)
    manager.get(path)
    for _ in range(3):
        PriceBookEntryFactory(price_book=book)
    few, _ = queries(manager, path)
    for _ in range(30):
        PriceBookEntryFactory(price_book=book)
    many, _ = queries(manager, path)

    assert few == many <= 16


# --- The customer timeline and merges ----------------------------------------------------------


def test_orders_and_quotes_show_on_the_customer_timeline(org_a, client_for, carol):
    customer = CustomerFactory(organization=org_a)
    OrderFactory(customer=customer, number="TL-ORDER", total=D("1234.50"))
    QuoteFactory(customer=customer, number="TL-QUOTE")

    html = (
        client_for(carol)
        .get(reverse("customers:customer-detail", args=[org_a.slug, customer.pk]))
        .content.decode()
    )

    assert "Order TL-ORDER · 1,234.50 USD" in html
    assert "Quote TL-QUOTE v1" in html
    assert "badge-soft-success" in html  # a completed order


def test_a_merge_moves_orders_quotes_and_a_price_book_and_undo_moves_them_back(org_a, alice):
    survivor, merged = CustomerFactory(organization=org_a), CustomerFactory(organization=org_a)
    order = OrderFactory(customer=merged)
    quote = QuoteFactory(customer=merged, contact=ContactFactory(customer=merged))
    CustomerPriceBookFactory(organization=org_a, customer=merged)

    with tenant_context(org_a):
        merge = customers_merge(survivor=survivor, merged=merged, choices={}, by=alice)
        assert Order.objects.get(pk=order.pk).customer == survivor
        assert Quote.objects.get(pk=quote.pk).customer == survivor
        assert CustomerPriceBook.objects.get().customer == survivor

        merge_undo(merge=merge, by=alice)
        assert Order.objects.get(pk=order.pk).customer == Customer.objects.get(pk=merged.pk)
        assert Quote.objects.get(pk=quote.pk).customer_id == merged.pk
        assert CustomerPriceBook.objects.get().customer_id == merged.pk


def test_a_merge_keeps_the_survivors_own_price_book(org_a, alice):
    survivor, merged = CustomerFactory(organization=org_a), CustomerFactory(organization=org_a)
    own = CustomerPriceBookFactory(organization=org_a, customer=survivor)
    CustomerPriceBookFactory(organization=org_a, customer=merged)

    with tenant_context(org_a):
        customers_merge(survivor=survivor, merged=merged, choices={}, by=alice)
        assert CustomerPriceBook.objects.get(customer=survivor).pk == own.pk


# --- Navigation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "links"),
    [
        (Role.ADMIN, {"nav-quotes", "nav-orders", "nav-products"}),
        (Role.SALES, {"nav-quotes", "nav-orders", "nav-products"}),
        (Role.SUPPORT, {"nav-orders"}),
        (Role.MARKETING, {"nav-orders"}),
    ],
)
def test_the_sidebar_shows_the_catalog_links_each_role_may_use(
    org_a, member_of, client_for, role, links
):
    html = (
        client_for(member_of(org_a, role))
        .get(reverse("tenancy:home", args=[org_a.slug]))
        .content.decode()
    )

    shown = {
        name
        for name in ("nav-quotes", "nav-orders", "nav-products")
        if f'data-testid="{name}"' in html
    }
    assert shown == links


def test_an_opportunitys_page_lists_its_quotes_and_starts_one(org_a, seller):
    _pipeline, stages = default_pipeline(org_a)
    opportunity = OpportunityFactory(stage=stages[2])
    quote = sent_quote(org_a, customer=opportunity.customer, opportunity=opportunity)

    html = seller.get(
        reverse("sales:opportunity-detail", args=[org_a.slug, opportunity.pk])
    ).content.decode()

    assert 'data-testid="opportunity-quotes"' in html
    assert quote.number in html
    assert f"?opportunity={opportunity.pk}" in html
