"""A rep's day: a lead from the website is qualified, converted and lands on the pipeline; a card
is dragged to another stage on the board; a quote built from a price book is sent, accepted and
becomes an order on the customer's timeline."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from sales.models import Lead, Opportunity, Order, Quote, StageChange, WebForm
from sales.selectors.opportunities import CARDS_PER_COLUMN
from tenancy.context import tenant_context
from tests.e2e.browser import LAPTOP, PHONE, Shoot, field, sign_in
from tests.factories import ContactFactory, CustomerFactory
from tests.sales.factories_catalog import (
    CustomerPriceBookFactory,
    PriceBookEntryFactory,
    PriceBookFactory,
    ProductFactory,
)
from tests.sales.factories_opportunities import OpportunityFactory, default_pipeline

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_web_form_lead_is_qualified_converted_and_lands_on_the_pipeline(
    page: Page, live_server, new_context, org_a, bob, shoot: Shoot
):
    with tenant_context(org_a):
        web_form = WebForm.objects.create(
            organization=org_a,
            name="Contact us",
            fields=["first_name", "last_name", "email", "company", "notes"],
        )

    # The company website posts the snippet's form: no session, no CSRF token.
    visitor = new_context()
    response = visitor.request.post(
        f"{live_server.url}/f/org-a/{web_form.token}/",
        form={
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": "grace@navy.example",
            "company": "Navy Labs",
            "notes": "We need forty licences.",
        },
    )
    assert response.ok, response.status
    with tenant_context(org_a):
        lead = Lead.objects.get()
    assert (lead.last_name, lead.email, lead.web_form_id) == (
        "Hopper",
        "grace@navy.example",
        web_form.pk,
    )

    sign_in(page.context, bob, live_server.url)
    page.goto(f"{live_server.url}/o/org-a/sales/leads/")
    page.get_by_role("link", name="Grace Hopper").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Hopper")
    expect(page.get_by_role("region", name="Details")).to_contain_text("Contact us")

    page.get_by_test_id("status-qualified").click()
    expect(page.get_by_text("This lead is qualified")).to_be_visible()
    with tenant_context(org_a):
        assert Lead.objects.get(pk=lead.pk).status == "qualified"

    page.get_by_test_id("convert-lead").click()
    form = page.get_by_test_id("convert-form")
    form.get_by_label("Create a new customer").check()
    form.get_by_label("Create an opportunity in the default pipeline").check()
    form.get_by_label("Opportunity name").fill("Navy Labs licences")
    form.locator("#id_amount").fill("40000")
    shoot(page, "lead-convert", sizes=("laptop",))
    form.get_by_test_id("convert-submit").click()

    # The rep lands on the new company customer, with the lead as its contact.
    expect(page.get_by_role("alert")).to_contain_text("Grace Hopper was converted.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Navy Labs")
    expect(page.get_by_role("region", name="Contacts")).to_contain_text("Grace Hopper")
    with tenant_context(org_a):
        lead.refresh_from_db()
        opportunity = Opportunity.objects.get()
    assert lead.status == "converted"
    assert lead.converted_opportunity_id == opportunity.pk
    assert opportunity.name == "Navy Labs licences"
    assert opportunity.customer_id == lead.converted_customer_id

    page.goto(f"{live_server.url}/o/org-a/sales/pipeline/")
    board = page.get_by_test_id("board")
    expect(board).to_contain_text("Navy Labs licences")
    shoot(page, "pipeline-after-conversion", sizes=("laptop",))


def _card(page: Page, name: str):
    return page.locator(".kanban-card", has_text=name)


def _column(page: Page, stage):
    return page.locator(f'[data-column="{stage.pk}"]')


def _drag(page: Page, card, target) -> None:
    """Drag `card` onto the `target` list as a person does with a mouse: press, move in steps,
    drop. SortableJS listens to the browser's own drag and drop."""
    card.scroll_into_view_if_needed()
    source = card.bounding_box()
    box = target.bounding_box()
    page.mouse.move(source["x"] + source["width"] / 2, source["y"] + 12)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + min(box["height"] - 8, 60), steps=15)
    page.wait_for_timeout(50)
    page.mouse.up()


def test_a_rep_drags_a_card_to_another_stage_and_it_stays_there(
    page: Page, live_server, org_a, bob, shoot: Shoot
):
    _pipeline, stages = default_pipeline(org_a)
    prospecting, qualification, needs = stages[0], stages[1], stages[2]
    lost = next(s for s in stages if s.is_lost)
    customer = CustomerFactory(organization=org_a, name="Fabrikam")
    moving = OpportunityFactory(
        stage=prospecting, name="Fabrikam renewal", customer=customer, owner=bob, position=0
    )
    for n in range(CARDS_PER_COLUMN + 2):
        OpportunityFactory(stage=qualification, name=f"Queued deal {n:02d}", position=n, owner=bob)
    OpportunityFactory(stage=needs, name="Needs work", position=0, owner=bob)
    doomed = OpportunityFactory(stage=prospecting, name="Long shot", position=1, owner=bob)
    sign_in(page.context, bob, live_server.url)
    page.goto(f"{live_server.url}/o/org-a/sales/pipeline/")
    page.wait_for_load_state("load")

    # A full column shows its first cards and loads the rest on demand, in place.
    queued = _column(page, qualification)
    expect(queued.locator(".kanban-card")).to_have_count(CARDS_PER_COLUMN)
    expect(queued.locator("[data-col-count]")).to_have_text(str(CARDS_PER_COLUMN + 2))
    page.evaluate("window.__sameDocument = true")
    queued.get_by_test_id("load-more").click()
    expect(queued.locator(".kanban-card")).to_have_count(CARDS_PER_COLUMN + 2)
    expect(queued.get_by_test_id("load-more")).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header stays at the top of the shot
    shoot(page, "pipeline-board")

    # On a phone the filters wait behind a button and the board starts on the first screen.
    page.set_viewport_size(PHONE)
    owner_filter = page.locator("#board-filters").get_by_label("Owner")
    expect(owner_filter).to_be_hidden()
    assert _column(page, prospecting).bounding_box()["y"] < PHONE["height"] / 2
    page.get_by_test_id("board-filters-toggle").click()
    expect(owner_filter).to_be_visible()
    page.set_viewport_size(LAPTOP)
    expect(owner_filter).to_be_visible()

    # Drag "Fabrikam renewal" from Prospecting to Needs analysis: saved at once.
    target = _column(page, needs).locator("[data-cards]")
    with page.expect_response(lambda r: "/move/" in r.url) as moved:
        _drag(page, _card(page, "Fabrikam renewal"), target)
    assert moved.value.ok, moved.value.status
    expect(target.locator(".kanban-card", has_text="Fabrikam renewal")).to_be_visible()
    expect(_column(page, needs).locator("[data-col-count]")).to_have_text("2")
    expect(_column(page, prospecting).locator("[data-col-count]")).to_have_text("1")
    expect(_card(page, "Fabrikam renewal").locator("[data-card-probability]")).to_have_text("40%")
    expect(page.get_by_test_id("board-summary")).to_contain_text("25 open opportunities")

    # A reload shows it in its new column, and its page shows the change in its history.
    page.reload()
    expect(
        _column(page, needs).locator(".kanban-card", has_text="Fabrikam renewal")
    ).to_be_visible()
    expect(_column(page, prospecting)).not_to_contain_text("Fabrikam renewal")
    with tenant_context(org_a):
        moving.refresh_from_db()
        change = StageChange.objects.get(opportunity=moving)
    assert (moving.stage_id, moving.probability) == (needs.pk, needs.probability)
    assert (change.from_stage_id, change.to_stage_id, change.changed_by_id) == (
        prospecting.pk,
        needs.pk,
        bob.pk,
    )
    assert timezone.now() - change.changed_at < timezone.timedelta(minutes=5)

    # Dropping on the lost column asks why first; the answer is kept with the opportunity.
    # (On a laptop the closed columns are off to the right and the browser scrolls the board
    # while a card is held at its edge; a wide screen shows every column at once.)
    page.set_viewport_size({"width": 2400, "height": 900})
    dialog = page.get_by_role("dialog", name="Why was it lost?")
    _drag(page, _card(page, "Long shot"), _column(page, lost).locator("[data-cards]"))
    expect(dialog).to_be_visible()
    dialog.get_by_label("Lost reason").fill("Went with a cheaper vendor")
    with page.expect_response(lambda r: "/move/" in r.url) as moved:
        dialog.get_by_role("button", name="Mark as lost").click()
    assert moved.value.ok, moved.value.status
    expect(_column(page, lost).locator("[data-col-count]")).to_have_text("1")
    with tenant_context(org_a):
        doomed.refresh_from_db()
    assert (doomed.stage_id, doomed.lost_reason) == (lost.pk, "Went with a cheaper vendor")
    page.set_viewport_size(LAPTOP)

    page.get_by_role("link", name="Fabrikam renewal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fabrikam renewal")
    expect(page.get_by_test_id("stage-history")).to_contain_text("Prospecting → Needs analysis")

    # The list, filtered to that stage: the filter panel opens with the choice made.
    page.goto(f"{live_server.url}/o/org-a/sales/opportunities/?stage={needs.pk}&status=open")
    panel = page.locator("#more-filters")
    expect(panel).to_be_visible()
    expect(panel.get_by_label("Stage")).to_have_value(str(needs.pk))
    results = page.locator("#opportunity-results")
    expect(results).to_contain_text("Fabrikam renewal")
    expect(results).not_to_contain_text("Queued deal")
    shoot(page, "opportunity-list-filtered")


def test_a_quote_from_a_price_book_is_sent_accepted_and_becomes_an_order_on_the_timeline(
    page: Page, live_server, new_context, org_a, bob, mailoutbox, shoot: Shoot
):
    customer = CustomerFactory(organization=org_a, name="Northwind Traders")
    ContactFactory(
        customer=customer, first_name="Nancy", last_name="Davolio", email="nancy@northwind.example"
    )
    book = PriceBookFactory(organization=org_a, name="Wholesale 2026")
    scanner = ProductFactory(
        organization=org_a, sku="SCN-100", name="Barcode scanner", list_price=Decimal("120.00")
    )
    PriceBookEntryFactory(price_book=book, product=scanner, unit_price=Decimal("95.00"))
    ProductFactory(organization=org_a, sku="CBL-1", name="USB cable", list_price=Decimal("9.50"))
    CustomerPriceBookFactory(price_book=book, customer=customer)
    sign_in(page.context, bob, live_server.url)

    # From the customer's page: Sales → New quote, priced from the customer's price book.
    page.goto(f"{live_server.url}/o/org-a/customers/{customer.pk}/")
    page.wait_for_load_state("load")
    page.get_by_test_id("customer-sales-menu").get_by_role("button", name="Sales").click()
    page.get_by_test_id("customer-new-quote").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New quote for Northwind Traders")
    expect(page.get_by_test_id("price-resolution")).to_contain_text(
        "Priced from Wholesale 2026 (assigned to this customer)."
    )
    page.get_by_test_id("create-quote").click()
    expect(page.get_by_role("alert")).to_contain_text("created. Add its lines.")

    # Lines: a product at its price-book price, and a list-price product; htmx keeps the page.
    page.wait_for_load_state("load")
    page.evaluate("window.__sameDocument = true")
    add = page.get_by_test_id("add-line-form")
    add.get_by_label("Product").select_option(label="Barcode scanner (SCN-100)")
    add.get_by_label("Quantity").fill("3")
    add.get_by_test_id("add-line").click()
    lines = page.get_by_test_id("quote-line")
    expect(lines).to_have_count(1)
    expect(lines.first.get_by_test_id("line-total")).to_have_text("285.00 USD")
    add = page.get_by_test_id("add-line-form")
    add.get_by_label("Product").select_option(label="USB cable (CBL-1)")
    add.get_by_label("Quantity").fill("2")
    add.get_by_test_id("add-line").click()
    expect(lines).to_have_count(2)
    expect(page.get_by_test_id("quote-total")).to_have_text("304.00 USD")
    assert page.evaluate("window.__sameDocument") is True
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "quote-builder")

    # Send it to the contact: the email links to the quote's public page.
    page.get_by_test_id("quote-send").click()
    expect(field(page, "To")).to_have_value("nancy@northwind.example")
    field(page, "Message").fill("Here is our offer, as discussed.")
    page.get_by_test_id("send-quote").click()
    expect(page.get_by_role("alert")).to_contain_text("Quote sent to nancy@northwind.example.")
    expect(page.get_by_test_id("quote-status")).to_have_text("Sent")
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["nancy@northwind.example"]
    link = re.search(r"https?://\S+/quotes/\S+/", mailoutbox[0].body)[0]

    # The customer opens the link: no sign-in, the quote and its total, ready to print.
    visitor = new_context().new_page()
    visitor.goto(link)
    sheet = visitor.get_by_test_id("quote-sheet")
    expect(sheet).to_contain_text("Northwind Traders")
    expect(sheet).to_contain_text("Barcode scanner")
    expect(visitor.get_by_test_id("print-total")).to_have_text("304.00 USD")
    shoot(visitor, "quote-public")

    # The customer said yes: the rep accepts the quote, which becomes an order.
    dialog = page.get_by_role("dialog", name="Please confirm")
    page.get_by_test_id("quote-accept").click()
    expect(dialog).to_contain_text("The customer accepted: create the order from this quote?")
    dialog.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("alert")).to_contain_text("The quote was accepted and became an order.")
    with tenant_context(org_a):
        quote = Quote.objects.get(customer=customer)
        order = Order.objects.get(customer=customer)
    assert quote.status == "accepted"
    assert (order.total, order.quote_id) == (Decimal("304.00"), quote.pk)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {order.number}")
    expect(page.get_by_test_id("order-total")).to_have_text("304.00 USD")

    # The customer's 360 page shows the order (and the accepted quote) on its timeline.
    page.goto(f"{live_server.url}/o/org-a/customers/{customer.pk}/")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text(f"Order {order.number} · 304.00 USD")
    expect(timeline).to_contain_text(f"Quote {quote.number} v1 · 304.00 USD")
    expect(timeline.locator(".timeline-item", has_text="Quote")).not_to_contain_text("· Bob Sales")
    shoot(page, "customer-360-with-order", sizes=("laptop",))
