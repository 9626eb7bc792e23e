"""Importing order history: good rows, bad rows with their reasons, unknown customers rejected
or created, all-or-nothing, duplicate numbers, and the upload page."""

import io
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.import_files import ImportFileError
from customers.models import Customer
from sales.models import Order
from sales.services.catalog.order_import import (
    ImportOptions,
    UnknownCustomers,
    order_import,
    parse_money,
    parse_when,
    rejected_report_csv,
)
from tenancy.context import tenant_context
from tests.factories import CustomerFactory
from tests.sales.conftest_catalog import in_org_a  # noqa: F401  (fixture)
from tests.sales.factories_catalog import OrderFactory

pytestmark = pytest.mark.django_db

HEADER = "Order number,Customer,Email,Date,Total,Cost,Status,Channel,Gift\n"


@pytest.fixture
def known(org_a):
    return {
        "ann": CustomerFactory(organization=org_a, name="Ann Buyer", email="ann@example.com"),
        "acme": CustomerFactory(organization=org_a, name="ACME Foods Inc."),
    }


def _run(org, text: str, **options) -> object:
    stream = io.BytesIO(text.encode("utf-8"))
    return order_import(
        org=org, stream=stream, file_name="orders.csv", options=ImportOptions(**options), by=None
    )


@pytest.mark.usefixtures("in_org_a")
def test_good_rows_become_orders_matched_by_email_or_name(org_a, known):
    result = _run(
        org_a,
        HEADER
        + "A-1,,ANN@example.com,2024-03-31,1234.50,700,completed,web,no\n"
        + 'A-2,Acme Foods,,31.12.2023 14:30,"1,000.00",,Cancelled,Store,yes\n'
        + "A-3,Ann Buyer,,2024-01-05,99,,,,\n",
    )

    assert (result.written, result.orders_created, result.rejected) == (True, 3, [])
    orders = {o.number: o for o in Order.objects.all()}
    assert orders["A-1"].customer == known["ann"]
    assert (orders["A-1"].total, orders["A-1"].cost_total) == (
        Decimal("1234.50"),
        Decimal("700.00"),
    )
    assert (orders["A-1"].status, orders["A-1"].channel, orders["A-1"].is_gift) == (
        "completed",
        "web",
        False,
    )
    assert orders["A-2"].customer == known["acme"]
    assert (orders["A-2"].status, orders["A-2"].channel, orders["A-2"].is_gift) == (
        "cancelled",
        "store",
        True,
    )
    assert orders["A-2"].ordered_at.hour == 14
    assert orders["A-3"].customer == known["ann"]
    assert (orders["A-3"].status, orders["A-3"].channel, orders["A-3"].cost_total) == (
        "completed",
        "web",
        None,
    )


@pytest.mark.usefixtures("in_org_a")
def test_bad_rows_are_skipped_and_reported_with_their_reason(org_a, known):
    OrderFactory(customer=known["ann"], number="OLD-1")
    result = _run(
        org_a,
        HEADER
        + "B-1,,ann@example.com,2024-03-31,10,,,,\n"  # good
        + "B-2,,ann@example.com,not a date,10,,,,\n"
        + "B-3,,ann@example.com,2024-03-31,ten,,,,\n"
        + "B-4,,nobody@example.com,2024-03-31,10,,,,\n"
        + "B-1,,ann@example.com,2024-03-31,10,,,,\n"  # twice in the file
        + "OLD-1,,ann@example.com,2024-03-31,10,,,,\n"  # already imported
        + "B-7,,ann@example.com,2024-03-31,10,,lost,,\n"
        + ",,ann@example.com,2024-03-31,10,,,,\n"
        + "B-9,,ann@example.com,2024-03-31,-5,,,,\n",
    )

    assert result.written and result.orders_created == 1
    reasons = {r.row: r.reason for r in result.rejected}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "date" in reasons[3]
    assert "amount" in reasons[4]
    assert "nobody@example.com" in reasons[5]
    assert "twice" in reasons[6]
    assert "exists" in reasons[7]
    assert "status" in reasons[8].lower()
    assert "number" in reasons[9]
    assert "negative" in reasons[10]
    assert set(Order.objects.values_list("number", flat=True)) == {"OLD-1", "B-1"}


@pytest.mark.usefixtures("in_org_a")
def test_all_or_nothing_writes_nothing_when_a_row_is_bad(org_a, known):
    result = _run(
        org_a,
        HEADER
        + "C-1,,ann@example.com,2024-03-31,10,,,,\n"
        + "C-2,,ann@example.com,2024-02-30,10,,,,\n",
        all_or_nothing=True,
    )

    assert not result.written
    assert [r.row for r in result.rejected] == [3]
    assert not Order.objects.exists()


@pytest.mark.usefixtures("in_org_a")
def test_unknown_customers_can_be_created_once_each(org_a, known):
    result = _run(
        org_a,
        HEADER
        + "D-1,New Co,,2024-03-31,10,,,,\n"
        + "D-2,new co.,,2024-04-01,20,,,,\n"
        + "D-3,,fresh@example.com,2024-04-02,30,,,,\n"
        + "D-4,,ann@example.com,2024-04-03,40,,,,\n",
        unknown_customers=UnknownCustomers.CREATE,
    )

    assert (result.orders_created, result.customers_created, result.rejected) == (4, 2, [])
    new_co = Customer.objects.get(name="New Co")
    assert set(new_co.orders.values_list("number", flat=True)) == {"D-1", "D-2"}
    assert new_co.source == "import"
    assert Customer.objects.get(email="fresh@example.com").orders.get().number == "D-3"
    assert Order.objects.get(number="D-4").customer == known["ann"]


@pytest.mark.usefixtures("in_org_a")
def test_a_file_without_the_required_columns_is_refused(org_a):
    with pytest.raises(ImportFileError, match="Date"):
        _run(org_a, "Order number,Customer,Total\nX-1,Ann,10\n")


@pytest.mark.usefixtures("in_org_a")
def test_the_other_organizations_customers_are_never_matched(org_a, org_b):
    CustomerFactory(organization=org_b, email="spy@example.com")

    result = _run(org_a, HEADER + "E-1,,spy@example.com,2024-03-31,10,,,,\n")

    assert result.orders_created == 0 and len(result.rejected) == 1


@pytest.mark.usefixtures("in_org_a")
def test_the_rejected_rows_report_neutralizes_formulas(org_a):
    result = _run(org_a, HEADER + "=HYPERLINK(1),,x@example.com,2024-03-31,10,,,,\n")

    report = rejected_report_csv(result)

    assert "'=HYPERLINK(1)" in report
    assert report.splitlines()[0].startswith("Row,Reason,Order number")


@pytest.mark.usefixtures("in_org_a")
def test_imports_write_in_batches(org_a, known, django_assert_max_num_queries):
    rows = "".join(f"F-{n},,ann@example.com,2024-03-31,{n},,,,\n" for n in range(2500))

    with django_assert_max_num_queries(20):
        result = _run(org_a, HEADER + rows)

    assert result.orders_created == 2500
    assert Order.objects.count() == 2500


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1234.5", "1234.50"),
        ("$1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1 234,5", "1234.50"),
        ("12,50", "12.50"),
        ("1,000", "1000.00"),
        ("0.005", "0.01"),
    ],
)
def test_amounts_in_common_notations(text, amount):
    assert parse_money(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["", "abc", "1e400", "NaN"])
def test_text_that_is_not_an_amount(text):
    with pytest.raises(ValueError):
        parse_money(text)


def test_slashed_dates_follow_the_chosen_order():
    assert parse_when("03/04/2024", day_first=False).date().isoformat() == "2024-03-04"
    assert parse_when("03/04/2024", day_first=True).date().isoformat() == "2024-04-03"
    assert parse_when("2024-03-04T08:15:00Z", day_first=False).hour == 8


# --- The pages ---------------------------------------------------------------------------------


def test_the_import_page_imports_and_offers_the_rejected_rows(org_a, admin_a, known, client_for):
    client = client_for(admin_a)
    upload = SimpleUploadedFile(
        "orders.csv",
        (
            HEADER
            + "G-1,,ann@example.com,2024-03-31,10,,,,\nG-2,,zed@example.com,2024-03-31,1,,,,\n"
        ).encode(),
        content_type="text/csv",
    )

    response = client.post(
        reverse("sales:order-import", args=[org_a.slug]),
        {
            "file": upload,
            "unknown_customers": "reject",
            "mode": "skip",
            "day_first": "0",
            "default_channel": "web",
        },
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "1 order imported" in html and "1 row was rejected" in html
    token = response.context["token"]
    report = client.get(reverse("sales:order-import-report", args=[org_a.slug, token]))
    assert report.status_code == 200
    assert report["Content-Type"].startswith("text/csv")
    assert "zed@example.com" in report.content.decode()


def test_an_unreadable_file_explains_itself(org_a, admin_a, client_for):
    upload = SimpleUploadedFile(
        "orders.xls", b"\xd0\xcf\x11\xe0junk", content_type="application/vnd.ms-excel"
    )

    response = client_for(admin_a).post(
        reverse("sales:order-import", args=[org_a.slug]),
        {
            "file": upload,
            "unknown_customers": "reject",
            "mode": "skip",
            "day_first": "0",
            "default_channel": "web",
        },
    )

    assert response.status_code == 400
    assert ".xls" in response.content.decode()


def test_another_organizations_report_is_not_found(org_a, org_b, admin_a, client_for):
    cache.set(f"sales:order-import-report:{org_b.pk}:tok", "x", 60)

    response = client_for(admin_a).get(
        reverse("sales:order-import-report", args=[org_a.slug, "tok"])
    )

    assert response.status_code == 404


def test_only_admins_import_orders(org_a, alice, client_for):
    response = client_for(alice).get(reverse("sales:order-import", args=[org_a.slug]))

    assert response.status_code == 403
    with tenant_context(org_a):
        assert not Order.objects.exists()
