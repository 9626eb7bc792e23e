"""Exports: the filtered list and nothing else, custom fields and tags included, formulas
neutralized, CSV streamed after the request has ended, Excel capped, and only for the roles
that may export."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from customers import exports
from tenancy.permissions import Role
from tests.factories import CustomerFactory, CustomFieldDefinitionFactory, TagFactory

INJECTIONS = ["=cmd|'/C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tTabbed", "\rReturned"]


def csv_rows(response) -> list[list[str]]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def xlsx_rows(response) -> list[list]:
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


def export_url(org, fmt: str = "csv", query: str = "") -> str:
    url = reverse(f"customers:customer-export-{fmt}", args=[org.slug])
    return f"{url}?{query}" if query else url


@pytest.fixture
def book(org_a, org_b, alice):
    vip = TagFactory(organization=org_a, name="vip")
    CustomFieldDefinitionFactory(organization=org_a, key="loyalty", label="Loyalty number")
    CustomerFactory(
        organization=org_a,
        name="Active Ann",
        email="ann@a.example",
        lifecycle_stage="active",
        owner=alice,
        credit_limit=Decimal("1500.00"),
        custom={"loyalty": "L-1"},
        tags=[vip],
    )
    CustomerFactory(organization=org_a, name="Prospect Pete", lifecycle_stage="prospect")
    CustomerFactory(organization=org_b, name="Beta Secret", lifecycle_stage="active")


def test_the_csv_export_has_every_column_tags_owner_and_custom_fields(
    client_for, alice, org_a, book
):
    rows = csv_rows(client_for(alice).get(export_url(org_a)))

    header = rows[0]
    assert header[:4] == ["ID", "Name", "Kind", "Email"]
    assert {"Owner", "Tags", "Lifecycle stage", "Email consent"} <= set(header)
    assert header[-1] == "Loyalty number"
    ann = dict(zip(header, next(r for r in rows if r[1] == "Active Ann"), strict=True))
    assert ann["Owner"] == "alice@a.example"
    assert ann["Tags"] == "vip"
    assert ann["Lifecycle stage"] == "Active"
    assert ann["Credit limit"] == "1500.00"
    assert ann["Loyalty number"] == "L-1"
    assert sorted(r[1] for r in rows[1:]) == ["Active Ann", "Prospect Pete"]


def test_the_csv_export_contains_only_the_filtered_rows(client_for, alice, org_a, book):
    response = client_for(alice).get(export_url(org_a, query="lifecycle_stage=active"))

    assert [r[1] for r in csv_rows(response)[1:]] == ["Active Ann"]


def test_the_csv_export_never_contains_another_organizations_rows(client_for, alice, org_a, book):
    response = client_for(alice).get(export_url(org_a, query="q=Secret"))

    assert csv_rows(response)[1:] == []


def test_the_csv_is_read_after_the_request_in_chunks(client_for, alice, org_a, monkeypatch):
    # Streaming: the content is produced after the view (and its tenant transaction) returned.
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    for n in range(5):
        CustomerFactory(organization=org_a, name=f"Person {n}")

    response = client_for(alice).get(export_url(org_a))

    assert [r[1] for r in csv_rows(response)[1:]] == [f"Person {n}" for n in range(5)]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_neutralize_formulas(client_for, alice, org_a, fmt):
    CustomFieldDefinitionFactory(organization=org_a, key="note", label="Note")
    for value in INJECTIONS:
        CustomerFactory(organization=org_a, name=value, city=value, custom={"note": value})

    response = client_for(alice).get(export_url(org_a, fmt))
    rows = csv_rows(response) if fmt == "csv" else xlsx_rows(response)

    header = rows[0]
    for row in rows[1:]:
        values = dict(zip(header, row, strict=True))
        for column in ("Name", "City", "Note"):
            assert values[column][0] == "'", (column, values[column])
            # XML (inside .xlsx) reads a carriage return back as a line feed.
            assert values[column][1:].replace("\n", "\r") in INJECTIONS


def test_neutralize_leaves_ordinary_values_alone():
    assert exports.neutralize("Acme") == "Acme"
    assert exports.neutralize("a=b") == "a=b"
    assert exports.neutralize(-5) == -5
    assert exports.neutralize("=1+1") == "'=1+1"


def test_the_excel_export_has_the_filtered_rows_and_custom_fields(client_for, alice, org_a, book):
    response = client_for(alice).get(export_url(org_a, "xlsx", "lifecycle_stage=prospect"))

    assert response["Content-Disposition"].startswith('attachment; filename="customers-org-a-')
    rows = xlsx_rows(response)
    assert rows[0][-1] == "Loyalty number"
    assert [row[1] for row in rows[1:]] == ["Prospect Pete"]


def test_the_excel_export_is_capped_with_a_clear_message(client_for, alice, org_a, settings):
    settings.EXPORT_XLSX_MAX_ROWS = 2
    for n in range(3):
        CustomerFactory(organization=org_a, name=f"Person {n}")

    response = client_for(alice).get(export_url(org_a, "xlsx", "sort=name"), follow=True)

    assert response.redirect_chain[0][0].endswith("/customers/?sort=name")
    assert "Excel exports are limited to 2 customers" in response.content.decode()


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.ADMIN, True),
        (Role.MANAGER, True),
        (Role.MARKETING, True),
        (Role.SALES, False),
        (Role.SUPPORT, False),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_only_admins_managers_and_marketers_may_export(
    role, allowed, fmt, org_a, member_of, client_for
):
    response = client_for(member_of(org_a, role)).get(export_url(org_a, fmt))

    assert response.status_code == (200 if allowed else 403)


def test_the_list_offers_exports_that_keep_its_filters(client_for, alice, bob, org_a, book):
    url = reverse("customers:customer-list", args=[org_a.slug]) + "?lifecycle_stage=active"

    html = client_for(alice).get(url).content.decode()

    assert export_url(org_a, "csv", "lifecycle_stage=active") in html
    assert export_url(org_a, "xlsx", "lifecycle_stage=active") in html
    assert export_url(org_a, "csv") not in client_for(bob).get(url).content.decode()


def test_the_csv_export_costs_the_same_queries_for_more_customers(client_for, alice, org_a):
    client = client_for(alice)
    client.get(export_url(org_a))  # the session is written once, on the first request

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            csv_rows(client.get(export_url(org_a)))
        return len(queries.captured_queries)

    for n in range(3):
        CustomerFactory(organization=org_a, name=f"Few {n}", tags=[TagFactory(organization=org_a)])
    few = count_queries()
    for n in range(60):
        CustomerFactory(organization=org_a, name=f"Many {n}", tags=[TagFactory(organization=org_a)])

    assert count_queries() == few
