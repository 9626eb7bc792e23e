"""Customer journeys: finding customers, the 360 page, logging, importing a file, merging,
exporting a large list."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from customers.models import Customer, ImportBatch, Interaction
from tenancy.context import tenant_context
from tests.e2e.browser import Shoot, path_is, sign_in
from tests.factories import ContactFactory, CustomerFactory, InteractionFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def rows(page: Page):
    return page.locator("#customer-results tbody tr")


def test_a_rep_searches_and_filters_the_customer_list(
    page: Page, live_server, org_a, bob, shoot: Shoot
):
    stages = ["prospect", "active", "at_risk", "churned"]
    for i in range(12):
        CustomerFactory(organization=org_a, name=f"Granite {i:02d}", lifecycle_stage=stages[i % 4])
    CustomerFactory(organization=org_a, name="Harbor Foods", lifecycle_stage="at_risk")
    CustomerFactory(organization=org_a, name="Harbor Lights", lifecycle_stage="active")
    sign_in(page.context, bob, live_server.url)
    list_url = f"{live_server.url}/o/org-a/customers/"
    page.goto(list_url)
    expect(rows(page)).to_have_count(14)

    # Typing swaps the results through htmx: the page itself is not reloaded.
    page.wait_for_load_state("load")  # htmx is ready
    page.evaluate("window.__sameDocument = true")
    # Typed key by key: the search fires on keyup.
    page.get_by_label("Search customers", exact=True).press_sequentially("Harbor")
    expect(page).to_have_url(re.compile(r"[?&]q=Harbor"))
    expect(rows(page)).to_have_count(2)
    expect(page.locator("#customer-results")).to_contain_text("Harbor Foods")
    expect(page.locator("#customer-results")).not_to_contain_text("Granite")
    assert page.evaluate("window.__sameDocument") is True

    page.get_by_role("button", name="Filters").click()
    panel = page.locator("#more-filters")
    expect(panel).to_be_visible()
    panel.get_by_label("At risk", exact=True).check()
    panel.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"lifecycle_stage=at_risk"))
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Harbor Foods")
    assert page.evaluate("window.__sameDocument") is True
    shoot(page, "customer-list-filtered", sizes=("laptop",))

    # The shared URL gives the same result to someone opening it afresh, with the filter panel
    # open on the filters in use (rendered with the page, not fetched).
    shared = page.url
    page.goto(shared)
    expect(page.get_by_label("Search customers", exact=True)).to_have_value("Harbor")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Harbor Foods")
    expect(page.locator("#more-filters")).to_be_visible()
    expect(page.locator("#more-filters").get_by_label("At risk", exact=True)).to_be_checked()
    shoot(page, "customer-list-shared-filters")
    # Unticking it applies at once, the search kept.
    page.locator("#more-filters").get_by_label("At risk", exact=True).uncheck()
    expect(rows(page)).to_have_count(2)
    expect(page).not_to_have_url(re.compile(r"lifecycle_stage"))
    expect(page).to_have_url(re.compile(r"[?&]q=Harbor"))

    # Just the stage, no search: every at-risk customer.
    page.goto(f"{list_url}?lifecycle_stage=at_risk")
    expect(rows(page)).to_have_count(4)


def test_the_customer_360_page_shows_profile_contacts_and_timeline(
    page: Page, live_server, org_a, bob, shoot: Shoot
):
    customer = CustomerFactory(
        organization=org_a,
        name="Northwind Traders",
        email="hello@northwind.example",
        phone="+1 555 0100",
        city="Seattle",
    )
    ContactFactory(customer=customer, first_name="Nancy", last_name="Davolio", title="Buyer")
    ContactFactory(customer=customer, first_name="Andrew", last_name="Fuller")
    InteractionFactory(customer=customer, subject="Quarterly review call")
    InteractionFactory(customer=customer, subject="Sent the price list", channel="email")
    sign_in(page.context, bob, live_server.url)
    page.goto(f"{live_server.url}/o/org-a/customers/{customer.pk}/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Northwind Traders")
    profile = page.get_by_role("region", name="Profile")
    expect(profile).to_contain_text("hello@northwind.example")
    expect(profile).to_contain_text("+1 555 0100")
    expect(profile).to_contain_text("Seattle")
    contacts = page.get_by_role("region", name="Contacts")
    expect(contacts).to_contain_text("Nancy Davolio")
    expect(contacts).to_contain_text("Buyer")
    expect(contacts).to_contain_text("Andrew Fuller")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Quarterly review call")
    expect(timeline).to_contain_text("Sent the price list")
    shoot(page, "customer-360")


def test_a_rep_logs_an_interaction_that_tops_the_timeline(
    page: Page, live_server, org_a, bob, shoot: Shoot
):
    customer = CustomerFactory(organization=org_a, name="Contoso")
    InteractionFactory(
        customer=customer, subject="An older call", occurred_at=timezone.now() - timedelta(days=2)
    )
    sign_in(page.context, bob, live_server.url)
    page.goto(f"{live_server.url}/o/org-a/customers/{customer.pk}/")
    page.wait_for_load_state("load")
    page.evaluate("window.__sameDocument = true")

    form = page.get_by_test_id("interaction-form")
    form.get_by_label("Channel").select_option("email")
    form.get_by_label("Subject").fill("Sent the renewal offer")
    form.get_by_role("button", name="Log it").click()

    expect(page.get_by_role("status").filter(has_text="Interaction logged.")).to_be_visible()
    first = page.locator("#timeline .timeline-item").first
    expect(first).to_contain_text("Sent the renewal offer")
    expect(page.locator("#timeline")).to_contain_text("An older call")
    # A fresh, empty form is back for the next one; the page was not reloaded.
    expect(page.get_by_test_id("interaction-form").get_by_label("Subject")).to_have_value("")
    assert page.evaluate("window.__sameDocument") is True
    shoot(page, "interaction-logged", sizes=("laptop",))

    with tenant_context(org_a):
        logged = Interaction.objects.get(customer=customer, subject="Sent the renewal offer")
    assert logged.user == bob
    assert logged.channel == "email"


CSV = (
    "name,email,phone,lifecycle_stage\n"
    "Alpha Bakery,alpha@bakery.example,+1 555 0101,prospect\n"
    "Beta Books,beta@books.example,+1 555 0102,active\n"
    "Gamma Garage,gamma@garage.example,+1 555 0103,at_risk\n"
    "Delta Diner,not-an-email,+1 555 0104,active\n"
)


def test_an_admin_imports_a_file_with_a_bad_row_then_undoes_it(
    page: Page, live_server, org_a, admin_a, tmp_path, shoot: Shoot
):
    upload = tmp_path / "new-customers.csv"
    upload.write_text(CSV)
    sign_in(page.context, admin_a, live_server.url)
    page.goto(f"{live_server.url}/o/org-a/customers/imports/")
    page.get_by_test_id("new-import").click()

    form = page.get_by_test_id("import-upload-form")
    form.get_by_label("Customers (companies and individuals)").check()
    form.get_by_label("File").set_input_files(upload)
    form.get_by_role("button", name="Upload and continue").click()

    expect(page.get_by_role("heading", name="Map the columns of new-customers.csv")).to_be_visible()
    mapping = page.get_by_test_id("import-map-form")
    # The columns are matched to fields from their names.
    for column, field_value in [
        ("name", "name"),
        ("email", "email"),
        ("phone", "phone"),
        ("lifecycle_stage", "lifecycle_stage"),
    ]:
        expect(mapping.get_by_label(column, exact=True)).to_have_value(field_value)
    mapping.get_by_label("Skip rows with errors and import the others").check()
    shoot(page, "import-map", sizes=("laptop",))
    mapping.get_by_test_id("start-import").click()

    status = page.get_by_test_id("import-status")
    expect(status).to_have_attribute("data-status", "done")
    counts = page.get_by_test_id("import-counts")
    expect(counts.locator("div").filter(has_text="Created").locator("dd")).to_have_text("3")
    expect(counts.locator("div").filter(has_text="Rejected").locator("dd")).to_have_text("1")
    report = page.get_by_test_id("import-report")
    expect(report).to_be_visible()
    assert re.search(r"/imports/\d+/report/$", report.get_attribute("href"))
    shoot(page, "import-result", sizes=("laptop",))

    with tenant_context(org_a):
        batch = ImportBatch.objects.get()
        assert (batch.created_count, batch.rejected_count) == (3, 1)
        names = set(Customer.objects.values_list("name", flat=True))
    assert names == {"Alpha Bakery", "Beta Books", "Gamma Garage"}

    page.get_by_test_id("import-undo").click()
    page.get_by_role("dialog", name="Please confirm").get_by_role(
        "button", name="Undo import"
    ).click()
    expect(page.get_by_text("This import was undone")).to_be_visible()
    with tenant_context(org_a):
        assert not Customer.objects.filter(name__in=names).exists()
        assert ImportBatch.objects.get().status == "undone"


def test_an_admin_merges_two_customers_keeping_a_value_from_each(
    page: Page, live_server, org_a, admin_a, shoot: Shoot
):
    older = CustomerFactory(
        organization=org_a,
        name="Fabrikam Inc.",
        email="office@fabrikam.example",
        phone="+1 555 0199",
        city="Denver",
    )
    newer = CustomerFactory(
        organization=org_a,
        name="Fabrikam",
        email="office@fabrikam.example",
        phone="+1 555 0200",
        city="Boulder",
    )
    sign_in(page.context, admin_a, live_server.url)
    page.goto(f"{live_server.url}/o/org-a/customers/duplicates/")
    pair = page.get_by_test_id("duplicate-pair").filter(has_text="Same email")
    expect(pair).to_have_count(1)
    expect(pair).to_contain_text("Fabrikam Inc.")
    pair.get_by_role("link", name="Compare and merge").click()

    expect(page.get_by_role("heading", name="Merge customers")).to_be_visible()
    a_pk = int(page.locator("input[name=a]").get_attribute("value"))
    survivor = older if a_pk == older.pk else newer
    page.locator("label[for=survivor-a]").click()
    # Keep the older record's name, and the newer one's phone number.
    page.get_by_test_id("merge-row-name").get_by_text("Fabrikam Inc.", exact=True).click()
    page.get_by_test_id("merge-row-phone").get_by_text("+1 555 0200", exact=True).click()
    shoot(page, "merge", sizes=("laptop",))
    page.get_by_test_id("merge-form").get_by_role("button", name="Merge").click()
    page.get_by_role("dialog", name="Please confirm").get_by_role("button", name="Merge").click()

    expect(page).to_have_url(path_is(live_server.url, f"/o/org-a/customers/{survivor.pk}/"))
    expect(page.get_by_role("alert")).to_contain_text("Merged customer #")
    expect(page.get_by_role("heading", level=1)).to_have_text("Fabrikam Inc.")
    expect(page.get_by_role("region", name="Profile")).to_contain_text("+1 555 0200")

    with tenant_context(org_a):
        kept = Customer.objects.get(pk=survivor.pk)
        gone = Customer.objects.get(pk=(newer if survivor is older else older).pk)
    assert (kept.name, kept.phone, kept.merged_into_id) == ("Fabrikam Inc.", "+1 555 0200", None)
    assert gone.merged_into_id == kept.pk

    page.goto(f"{live_server.url}/o/org-a/customers/?q=Fabrikam")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Fabrikam Inc.")


def test_a_manager_has_a_large_export_prepared_and_downloads_it(
    page: Page, live_server, org_a, alice, settings, shoot: Shoot
):
    # Over the threshold the export is a background job (run eagerly here: no broker).
    settings.EXPORT_IMMEDIATE_MAX_ROWS = 3
    for i in range(5):
        CustomerFactory(organization=org_a, name=f"Export Co {i}", lifecycle_stage="active")
    CustomerFactory(organization=org_a, name="Left Out Ltd", lifecycle_stage="churned")
    sign_in(page.context, alice, live_server.url)
    page.goto(f"{live_server.url}/o/org-a/customers/?lifecycle_stage=active")
    page.get_by_test_id("export-csv").click()

    expect(page.get_by_test_id("export-confirm")).to_contain_text("This list has 5 customers.")
    shoot(page, "export-confirm", sizes=("laptop",))
    page.get_by_test_id("export-start").click()

    expect(page.get_by_test_id("export-status")).to_have_attribute("data-status", "done")
    expect(page.get_by_test_id("export-status")).to_contain_text("5 customers")
    shoot(page, "export-ready")
    with page.expect_download() as info:
        page.get_by_test_id("export-download").click()
    download = info.value
    assert re.fullmatch(r"customers-org-a-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    # Sent gzip-encoded; the browser saves the CSV itself.
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    assert text.startswith("ID,Name,")
    assert sorted(line.split(",")[1] for line in text.splitlines()[1:]) == [
        f"Export Co {i}" for i in range(5)
    ]

    page.goto(f"{live_server.url}/o/org-a/customers/exports/")
    expect(page.get_by_test_id("export-list").locator("tbody tr")).to_have_count(1)
    shoot(page, "export-list", sizes=("laptop",))
